"""kerasketch uses Keras and torch through their public names only.

A private name (a leading underscore, dunder methods aside) of Keras or torch
changes without notice between releases. This walks the syntax tree of every
module in ``kerasketch/`` and fails on

* an attribute read, call or import of an underscore name that kerasketch
  does not define itself and Keras' or torch's sources do (``model._compile_loss``,
  ``torch._fused_adam_``, ``from torch._dynamo import ...``);
* a class deriving from a Keras or torch class that defines (overrides or
  shadows) an underscore method or attribute its Keras or torch bases define.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kerasketch"
FOREIGN = ("keras", "torch")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return out


def _defined_by_us(trees) -> set[str]:
    """Every underscore name kerasketch binds: functions, classes, assignments, attributes it sets, arguments."""
    names: set[str] = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[-1])
    return {n for n in names if _private(n)}


@cache
def _foreign_source() -> str:
    """The text of Keras' and torch's Python sources, to look names up in."""
    chunks = []
    for package in FOREIGN:
        root = Path(importlib.util.find_spec(package).origin).parent  # type: ignore[union-attr, arg-type]
        chunks.extend(p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*.py"))
    return "\n".join(chunks)


def _in_foreign(name: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", _foreign_source()) is not None


def _private_uses(trees) -> list[str]:
    ours = _defined_by_us(trees)
    found = []
    for module, tree in trees:
        # Modules of other libraries imported whole (`os._exit` is the standard library's own business).
        others = {
            alias.asname or alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name.split(".")[0] not in FOREIGN
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in ours:
                if isinstance(node.value, ast.Name) and node.value.id in others:
                    continue
                if _in_foreign(node.attr):
                    found.append(f"{module}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FOREIGN:
                if any(_private(part) for part in node.module.split(".")):
                    found.append(f"{module}:{node.lineno} from {node.module}")
                found.extend(f"{module}:{node.lineno} import {a.name}" for a in node.names if _private(a.name))
            elif isinstance(node, ast.Import):
                found.extend(
                    f"{module}:{node.lineno} import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in FOREIGN and any(_private(p) for p in a.name.split("."))
                )
    return found


def test_no_private_keras_or_torch_name_is_read_called_or_imported():
    found = _private_uses(_modules())
    assert not found, "private Keras or torch names used:\n" + "\n".join(found)


def _class_private_names(node: ast.ClassDef) -> dict[str, int]:
    """Underscore names a class body defines: methods, class attributes and ``self._x`` it assigns."""
    names: dict[str, int] = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            names.setdefault(item.name, item.lineno)
            for sub in ast.walk(item):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.ctx, ast.Store)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id == "self"
                ):
                    names.setdefault(sub.attr, sub.lineno)
        elif isinstance(item, ast.Assign):
            for target in item.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, item.lineno)
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            names.setdefault(item.target.id, item.lineno)
    return {name: line for name, line in names.items() if _private(name)}


def _foreign_bases(cls: type) -> list[type]:
    return [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] in FOREIGN]


def _defines(base: type, name: str) -> bool:
    if name in vars(base):
        return True
    try:
        source = inspect.getsource(base)
    except (OSError, TypeError):
        return False
    return re.search(rf"(def {re.escape(name)}\b|self\.{re.escape(name)}\b)", source) is not None


def _overrides(cls: type, bodies: dict[tuple[str, str], ast.ClassDef]) -> list[str]:
    """Underscore members that ``cls`` or its kerasketch mixins define over its Keras or torch bases'."""
    foreign = _foreign_bases(cls)
    found = []
    for ours in cls.__mro__ if foreign else ():
        body = bodies.get((ours.__module__, ours.__name__))
        if body is None:
            continue
        for name, line in _class_private_names(body).items():
            clash = next((b for b in foreign if _defines(b, name)), None)
            if clash is not None:
                found.append(f"{ours.__module__}:{line} {ours.__name__}.{name} (defined on {clash.__qualname__})")
    return found


def test_no_class_overrides_a_private_keras_or_torch_member():
    trees = _modules()
    bodies = {
        (module, node.name): node for module, tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
    }
    found = []
    for module, tree in trees:
        classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
        # The dashboard never imports Keras or torch (an import-linter contract): nothing there derives from them.
        if not classes or module.startswith("kerasketch.tui"):
            continue
        for node in classes:
            cls = getattr(importlib.import_module(module), node.name, None)
            if isinstance(cls, type):
                found.extend(_overrides(cls, bodies))
    assert not found, "private Keras or torch members overridden:\n" + "\n".join(sorted(set(found)))


def test_the_override_check_finds_an_override():
    import keras

    source = "class Rule(keras.optimizers.Optimizer):\n    def _backend_update_step(self, g, v, lr):\n        pass\n"
    namespace: dict = {"keras": keras, "__name__": "kerasketch.sample"}
    exec(compile(source, "sample", "exec"), namespace)
    bodies = {("kerasketch.sample", "Rule"): ast.parse(source).body[0]}
    assert [f.split(" ")[1] for f in _overrides(namespace["Rule"], bodies)] == ["Rule._backend_update_step"]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import torch\ntorch._fused_adam_([], [])\n", ".sample:2 ._fused_adam_"),
        ("def f(model):\n    return model._compile_loss\n", ".sample:2 ._compile_loss"),
        ("from torch._dynamo import config\n", ".sample:1 from torch._dynamo"),
        ("def _mine():\n    pass\n\ndef g(m):\n    return m._mine()\n", None),
    ],
)
def test_the_walk_finds_what_it_looks_for(source, expected):
    """The check itself can fail: the old fast path's names are found, our own private names are not."""
    found = _private_uses([("kerasketch.sample", ast.parse(source))])
    assert found == ([] if expected is None else [f"kerasketch{expected}"])
