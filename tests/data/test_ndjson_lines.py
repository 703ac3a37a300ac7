"""Writing drawings as simplified ndjson lines: what the reader reads back, and files left whole."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerasketch.data.ndjson_lines import append_line, check_word, simplified_line
from kerasketch.data.sources import NdjsonSource
from kerasketch.errors import DataError

DRAWING = [np.array([[0.0, 0.0], [255.0, 40.4]]), np.array([[10.0, 200.0]])]


def test_a_line_holds_the_published_fields_and_reads_back(tmp_path):
    line = simplified_line(" cat ", DRAWING, recognized=True, when=1_700_000_000.5)
    record = json.loads(line)
    assert record["word"] == "cat" and record["recognized"] is True
    assert record["timestamp"] == "2023-11-14 22:13:20.50000 UTC"
    assert record["drawing"] == [[[0, 255], [0, 40]], [[10], [200]]]
    path = tmp_path / "mine.ndjson"
    path.write_bytes(b'{"word":"dog","drawing":[[[0,255],[0,255]]]}')  # someone's last line, without its newline
    append_line(path, line)
    assert NdjsonSource(path).counts == {"cat": 1, "dog": 1}


def test_bad_words_folders_and_coordinates_are_refused_clearly(tmp_path):
    for word in ("", "   ", "two\nlines", "x" * 101):
        with pytest.raises(DataError):
            check_word(word)
    with pytest.raises(DataError, match="does not exist"):
        append_line(tmp_path / "nowhere" / "x.ndjson", "{}")
    with pytest.raises(DataError, match="is a folder"):
        append_line(tmp_path, "{}")
    with pytest.raises(ValueError, match="0-255"):
        simplified_line("cat", [np.array([[0.0, 0.0], [300.0, 10.0]])])
