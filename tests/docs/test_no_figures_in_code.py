"""No docstring or comment in kerasketch/ quotes a measured throughput, timing or accuracy.

Measured figures go stale where code changes; they live once, on the docs'
Results pages, beside the command that produced them and the machine it ran
on. What is caught: images (or drawings, samples) per second, a duration in
milliseconds or microseconds, and an accuracy: a fraction written with four
decimals, or a fraction or percentage in the same sentence as a word that makes
it one (accuracy, val_acc, top-3, F1, reached, scored).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kerasketch"

THROUGHPUT = re.compile(
    r"(?:\d|\bdozens?\b|\bhundreds?\b|\bthousands?\b)[^.;\n]{0,20}?"
    r"(?:\b(?:img|imgs|images?|drawings?|samples?)\s*(?:/\s*s(?:ec)?\b|(?:per|a|each)\s+second\b))",
    re.I,
)
TIMING = re.compile(r"\d(?:[\d.,]*\d)?(?:\s*(?:-|to)\s*\d(?:[\d.,]*\d)?)?\s*(?:ms|µs|us|milliseconds?|microseconds?)\b")
ACCURACY_NUMBER = re.compile(r"(?<![\w.])(?:0\.[1-9]\d{1,3}|\d{1,3}(?:\.\d+)?\s?%)(?!\.?\d)(?!\w)")
# Four decimals (0.8726) is how accuracies are quoted, and no design value here is written so.
FOUR_DECIMALS = re.compile(r"(?<![\w.])0\.[1-9]\d{3}(?!\.?\d)(?!\w)")
ACCURACY_WORD = re.compile(
    r"\b(?:acc|accuracy|accuracies|val_acc|val_accuracy|top-?\d|macro-?F1|F1|reached|scored?)\b", re.I
)


def sentences(text: str) -> list[str]:
    """Split on sentence ends and blank lines, keeping decimals (0.87) whole."""
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z`(])|\n\s*\n", text) if s.strip()]


def figures(text: str) -> list[str]:
    """What in ``text`` quotes a measured figure, as the matched words."""
    found = [m.group(0) for m in THROUGHPUT.finditer(text)]
    found += [m.group(0) for m in TIMING.finditer(text)]
    for sentence in sentences(text):
        numbers = ACCURACY_NUMBER if ACCURACY_WORD.search(sentence) else FOUR_DECIMALS
        found += [m.group(0) for m in numbers.finditer(sentence)]
    return found


def docstrings_and_comments(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and every string standing alone as a statement (docstrings, and the
    strings that document an attribute)."""
    texts = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            texts.append((node.lineno, node.value.value))
    return texts


def test_no_docstring_or_comment_quotes_a_figure():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in docstrings_and_comments(path.read_text(encoding="utf-8")):
            for number, text_line in enumerate(text.splitlines(), start=line):
                for figure in figures(text_line):
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {figure!r}")
            joined = " ".join(text.split())  # a figure and its word may sit on two lines
            if figures(joined) and not any(figures(text_line) for text_line in text.splitlines()):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {figures(joined)!r}")
    assert not offenders, "measured figures belong on the docs' Results pages:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "text",
    [
        "trains at about 225 images/s here",
        "1,839 img/s against 1,683",
        "About a dozen images per second on 2 CPU cores",
        "the bare step took 4.31 ms against 4.23",
        "about 0.13 ms of Python per layer",
        "23-46 ms for a batch of 64",
        "The original reached 0.6267 at epoch 7.",
        "test accuracy 0.8726 on the 37 classes",
        "val_acc 0.869 after epoch 6",
        "It scored 87.5% on the held-out split.",
        "a defect, kept because it produced the original's 0.5644 (epoch 17)",
        "no F1 to count made it report 0.036 instead of 0.664.",
    ],
)
def test_figures_are_found(text):
    assert figures(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Adam(lr=0.001) with PyTorch's epsilon 1e-8",
        "label smoothing 0.1 and dropout 0.2",
        "the training accuracy, compared in float32",
        "probability of blacking out one random rectangle (2-33% of the image)",
        "a batch event about every half second",
        "imagenet mean (0.485, 0.456, 0.406)",
        "the original's result is `Original.val_acc`",
        "rho 0.99 as PyTorch's RMSprop",
    ],
)
def test_design_values_are_not_figures(text):
    assert not figures(text), figures(text)


def test_comments_and_docstrings_are_read_but_code_is_not():
    source = '"""Module: 2 ms a step."""\nx = "3 ms in a message"  # 4 ms here\n\n\ndef f():\n    """5 img/s."""\n'
    found = [(line, figure) for line, text in docstrings_and_comments(source) for figure in figures(text)]
    assert sorted(found) == [(1, "2 ms"), (2, "4 ms"), (6, "5 img/s")]
