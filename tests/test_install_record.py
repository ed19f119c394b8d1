"""RECORD rows are the CSV that csv.writer (and so installer and pip) would write."""

from __future__ import annotations

import csv
import io

import pytest

from cloche.adapters.install.generated import record_line


def _csv(path: str, digest: str, size: str) -> str:
    text = io.StringIO()
    csv.writer(text, delimiter=",", quotechar='"', lineterminator="\n").writerow(
        (path, digest, size)
    )
    return text.getvalue()


@pytest.mark.parametrize(
    "path",
    [
        "pkg/__init__.py",
        "pkg/with space.py",
        "pkg/comma,name.py",
        'pkg/quote"name.py',
        "pkg/new\nline.py",
        "pkg/ünïcode.py",
        "../../../bin/tool",
    ],
)
def test_rows_match_csv(path: str) -> None:
    assert record_line(path, "abc_-XYZ", 123) == _csv(path, "sha256=abc_-XYZ", "123")
    assert record_line(path, None, None) == _csv(path, "", "")
    rows = list(csv.reader(io.StringIO(record_line(path, "h", 1), newline="")))
    assert rows == [[path, "sha256=h", "1"]]
