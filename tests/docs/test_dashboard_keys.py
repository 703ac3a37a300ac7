"""The Dashboard page's keys table covers every class of the dashboard that binds keys."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

import kerasketch.tui

HOOK = Path(__file__).resolve().parents[2] / "docs" / "hooks" / "generated.py"


def load_hook():
    spec = importlib.util.spec_from_file_location("docs_generated_hook_keys", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def classes_with_bindings() -> set[tuple[str, str]]:
    found = set()
    for info in pkgutil.walk_packages(kerasketch.tui.__path__, "kerasketch.tui."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name and cls.__dict__.get("BINDINGS"):
                found.add((info.name, name))
    return found


def test_every_class_that_binds_keys_is_in_the_table():
    listed = {(module, name) for module, name, _ in hook.KEY_OWNERS}
    missing = classes_with_bindings() - listed
    assert not missing, f"add these to KEY_OWNERS in docs/hooks/generated.py: {sorted(missing)}"


def test_the_table_lists_real_bindings():
    table = hook.keys_table()
    assert "| dashboard | `v` | Compare |" in table
    assert "| everywhere | `?` / `f1` | Help |" in table
    assert "| a run | `]` | Smooth more |" in table
    page = (HOOK.parents[1] / "dashboard.md").read_text(encoding="utf-8")
    assert hook.KEYS_MARKER in page
