"""The README stays short and its links resolve; pages that quote measured figures credit the dataset.

(`make check` builds the site with `mkdocs build --strict`, which fails on a broken
link or anchor inside the site and on a page left out of the nav.)
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_figures():
    """The figure finder of test_no_figures_in_code.py (tests/docs is no package: loaded by path)."""
    spec = importlib.util.spec_from_file_location(
        "no_figures_in_code", Path(__file__).with_name("test_no_figures_in_code.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.figures


figures = load_figures()
DOCS = ROOT / "docs"
CREDIT = "Quick, Draw! dataset, Google, CC BY 4.0"
GENERATED = {"docs/reference/cli.md"}  # written by docs/hooks/generated.py on each build


def test_the_readme_is_at_most_150_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move the detail into a page under docs/"


def test_the_readme_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert any(t.startswith("docs/") for t in local)
    missing = [t for t in local if t not in GENERATED and not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def credited(text: str) -> bool:
    """The credit, wherever lines break and whether or not its licence is a link."""
    plain = " ".join(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).split())
    return CREDIT in plain


def test_pages_that_quote_figures_credit_the_dataset():
    uncredited = [
        str(page.relative_to(ROOT))
        for page in sorted(DOCS.rglob("*.md"))
        if figures(page.read_text(encoding="utf-8")) and not credited(page.read_text(encoding="utf-8"))
    ]
    assert not uncredited, f"pages with measured results need the credit {CREDIT}: {uncredited}"


def test_a_results_page_without_the_credit_would_be_caught():
    page = (DOCS / "results" / "accuracy.md").read_text(encoding="utf-8")
    assert figures(page)
    assert credited(page)
    assert not credited(page.replace(CREDIT, ""))
    assert credited("Quick, Draw!\ndataset, Google, [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/).")
