"""Parsing simple-API pages (PEP 503 HTML, PEP 691 JSON) without a server."""

from __future__ import annotations

import json

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.adapters.index.simple import (
    JSON_TYPE,
    files_from_rows,
    files_to_rows,
    parse_page,
)
from cloche.core.models import NormalizedName
from cloche.errors import IndexResponseError

URL = "https://idx.example/simple/demo/"
DEMO = NormalizedName("demo")

HTML = b"""<!DOCTYPE html><html><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=AB12" data-requires-python="&gt;=3.9"
   data-core-metadata="sha256=cd34">demo-1.0-py3-none-any.whl</a>
<a href="https://cdn.example/demo-1.0.tar.gz" data-yanked="">demo-1.0.tar.gz</a>
<a href="/f/demo-0.9.tar.gz" data-yanked="broken build" data-dist-info-metadata="true">x</a>
<a href="/f/demo-0.8.egg">demo-0.8.egg</a>
<a href="/f/demo-0.8.exe">demo-0.8.exe</a>
<a href="/f/other-1.0.tar.gz">other-1.0.tar.gz</a>
<a href="/f/demo-bad-name.tar.gz">demo-bad-name.tar.gz</a>
<a href="/f/demo-0.7-py3-none-any.whl" data-requires-python=">=3.x">bad rp</a>
</body></html>"""


def test_html_page() -> None:
    files = parse_page(HTML, "text/html; charset=utf-8", url=URL, index="IDX", project=DEMO)
    by_name = {f.filename: f for f in files}
    assert sorted(by_name) == [
        "demo-0.7-py3-none-any.whl",
        "demo-0.9.tar.gz",
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
    ]
    wheel = by_name["demo-1.0-py3-none-any.whl"]
    assert wheel.url == "https://idx.example/files/demo-1.0-py3-none-any.whl"
    assert wheel.hashes == (("sha256", "ab12"),)
    assert wheel.requires_python == SpecifierSet(">=3.9")
    assert wheel.metadata_hashes == (("sha256", "cd34"),)
    assert wheel.yanked is None
    assert wheel.index == "IDX"
    assert wheel.version == Version("1.0")
    assert by_name["demo-1.0.tar.gz"].url == "https://cdn.example/demo-1.0.tar.gz"
    assert by_name["demo-1.0.tar.gz"].yanked == ""
    assert by_name["demo-1.0.tar.gz"].metadata_hashes is None
    assert by_name["demo-0.9.tar.gz"].yanked == "broken build"
    assert by_name["demo-0.9.tar.gz"].metadata_hashes == ()
    # An invalid Requires-Python restricts nothing rather than hiding the file.
    assert by_name["demo-0.7-py3-none-any.whl"].requires_python is None


def test_html_base_tag_sets_the_base_url() -> None:
    page = (
        b'<html><head><base href="https://mirror.example/pkgs/"></head>'
        b'<a href="demo-2.0.tar.gz">d</a></html>'
    )
    (file,) = parse_page(page, "text/html", url=URL, index="IDX", project=DEMO)
    assert file.url == "https://mirror.example/pkgs/demo-2.0.tar.gz"


def test_json_page() -> None:
    doc = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "../../files/demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": "AA"},
                "requires-python": ">=3.8",
                "yanked": False,
                "core-metadata": {"sha256": "bb"},
                "size": 123,
                "upload-time": "2024-01-01T00:00:00Z",
            },
            {
                "filename": "demo-0.9.tar.gz",
                "url": "/x/demo-0.9.tar.gz",
                "hashes": {},
                "yanked": "security",
                "dist-info-metadata": True,
            },
            {
                "filename": "demo-0.8.tar.gz",
                "url": "/x/demo-0.8.tar.gz",
                "hashes": {},
                "yanked": True,
            },
            {"filename": "demo-0.1.egg", "url": "/x/demo-0.1.egg", "hashes": {}},
        ],
    }
    files = parse_page(json.dumps(doc).encode(), JSON_TYPE, url=URL, index="IDX", project=DEMO)
    assert [f.filename for f in files] == [
        "demo-1.0-py3-none-any.whl",
        "demo-0.9.tar.gz",
        "demo-0.8.tar.gz",
    ]
    wheel, old, older = files
    assert wheel.url == "https://idx.example/files/demo-1.0-py3-none-any.whl"
    assert wheel.hashes == (("sha256", "aa"),)
    assert wheel.metadata_hashes == (("sha256", "bb"),)
    assert wheel.size == 123
    assert wheel.upload_time == "2024-01-01T00:00:00Z"
    assert wheel.requires_python == SpecifierSet(">=3.8")
    assert old.yanked == "security"
    assert old.metadata_hashes == ()
    assert older.yanked == ""


def test_rows_round_trip() -> None:
    files = parse_page(HTML, "text/html", url=URL, index="IDX", project=DEMO)
    assert files_from_rows(json.loads(json.dumps(files_to_rows(files))), index="IDX") == files


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", JSON_TYPE),
        (b'{"files": 3}', JSON_TYPE),
        (b'{"files": [{"filename": 1}]}', JSON_TYPE),
        (b"\x00\xff<<not {an index page]]", "text/html"),
        (b"just some words", "text/html"),
        (b"<html></html>", "application/pdf"),
    ],
)
def test_garbage_names_the_url(body: bytes, content_type: str) -> None:
    with pytest.raises(IndexResponseError) as info:
        parse_page(body, content_type, url=URL, index="IDX", project=DEMO)
    assert URL in str(info.value)


def test_credentials_in_links_are_stripped() -> None:
    page = b'<html><a href="https://u:secret@cdn.example/demo-1.0.tar.gz">d</a></html>'
    (file,) = parse_page(page, "text/html", url=URL, index="IDX", project=DEMO)
    assert file.url == "https://cdn.example/demo-1.0.tar.gz"
