"""Cached JSON pages kept digested and read back one version at a time (spans of each
version's blob).

Whatever the page, a listing built from its digest must equal the one a full parse of
the page gives; a cache entry that does not fit is a miss or an error, never a
different answer.
"""

from __future__ import annotations

import binascii
import json
import marshal
import sys
from array import array
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from cloche.adapters.index import IndexClient
from cloche.adapters.index.cache import CachedPage, PageBody, PageCache
from cloche.adapters.index.json_listing import json_listing, json_page, spans_listing
from cloche.adapters.index.json_spans import Spans
from cloche.config import Settings
from cloche.core.listing import FileListing
from cloche.core.models import DistFile, NormalizedName, parse_dist_filename
from cloche.errors import IndexResponseError
from tests.support.index_server import IndexServer

URL = "https://idx.example/simple/demo/"
DEMO = NormalizedName("demo")

Groups = list[tuple[str, tuple[DistFile, ...]]]


def groups(listing: FileListing) -> Groups:
    return [(str(v), listing.group(v)) for v in listing.versions()]


def full_parse(body: bytes, project: NormalizedName = DEMO) -> Groups:
    return groups(json_listing(body, url=URL, index="IDX", project=project))


def from_spans(body: bytes, project: NormalizedName = DEMO) -> Groups:
    listing, (digest, spans) = json_page(body, url=URL, index="IDX", project=project)
    assert groups(listing) == full_parse(body, project)
    # Through marshal, as the cache keeps them for a later run.
    spans = Spans(*marshal.loads(marshal.dumps(fields(spans))))
    return groups(spans_listing(digest, spans, url=URL, index="IDX", project=project))


def fields(spans: Spans) -> tuple[Any, ...]:
    return (spans.versions, spans.offsets, spans.checks, spans.states)


def spelled(got: Groups) -> list[list[tuple[str, str | None]]]:
    """Each file's version and Requires-Python as strings (equal objects may differ so)."""
    return [
        [
            (str(f.version), None if f.requires_python is None else str(f.requires_python))
            for f in fs
        ]
        for _v, fs in got
    ]


def entry(filename: str, **fields: Any) -> dict[str, Any]:
    return {"filename": filename, "url": f"../../files/{filename}", "hashes": {}, **fields}


MIXED = [
    entry("demo-1.0-py3-none-any.whl", hashes={"sha256": "AA"}, **{"requires-python": ">=3.8"}),
    entry("demo-1.0.tar.gz", yanked="broken }, { build", **{"core-metadata": True}),
    entry("demo-1.0.1-1-py3-none-any.whl", **{"dist-info-metadata": {"sha256": "CC"}}),
    entry("demo-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl", yanked=True),
    entry("Demo-2.0rc1.zip", size=12, **{"upload-time": "2024-01-01T00:00:00Z"}),
    entry("demo-0.1.egg"),
    entry("other-1.0-py3-none-any.whl"),
    entry("demo-not!a!version-py3-none-any.whl"),
    entry("demo-1.0-py2-none-any.whl", yanked="ünïcödé reason ✓"),
    entry("demo-3.0-py3-none-any.whl", **{"requires-python": ">=3.x"}),
]


@pytest.mark.parametrize(
    "dumps",
    [
        lambda doc: json.dumps(doc),
        lambda doc: json.dumps(doc, indent=1),
        lambda doc: json.dumps(doc, separators=(",", ":"), ensure_ascii=False),
        lambda doc: "\r\n " + json.dumps(doc, indent="\t", ensure_ascii=False) + "\n\n",
    ],
)
def test_spans_give_what_a_full_parse_gives(dumps: Any) -> None:
    doc = {"meta": {"api-version": "1.1"}, "name": "demo", "files": MIXED, "versions": []}
    body = dumps(doc).encode()
    got = from_spans(body)
    assert [version for version, _files in got] == ["1.0", "1.0.1", "2.0rc1", "3.0"]
    one_oh = dict(got)["1.0"]
    assert [f.filename for f in one_oh] == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
        "demo-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "demo-1.0-py2-none-any.whl",
    ]
    assert one_oh[1].yanked == "broken }, { build"
    assert one_oh[3].yanked == "ünïcödé reason ✓"


def test_files_keep_their_own_spelling_of_an_equal_version() -> None:
    names = ["demo-1.0-py3-none-any.whl", "demo-1.0.0.tar.gz", "demo-01.0.zip", "demo-1.0.tar.gz"]
    body = json.dumps({"files": [entry(n) for n in names]}).encode()
    got = from_spans(body)
    assert [v for v, _ in got] == ["1.0"]
    assert (
        spelled(got)
        == spelled(full_parse(body))
        == [[("1.0", None), ("1.0.0", None), ("1.0", None), ("1.0", None)]]
    )


def test_the_last_files_key_wins_as_in_json_loads() -> None:
    body = b'{"files": [{"filename": "demo-9.0.tar.gz", "url": "x"}], "files": []}'
    assert from_spans(body) == [] == full_parse(body)
    body = b'{"files": 3, "meta": {"files": []}, "files": [{"filename": "demo-1.zip", "url": ""}]}'
    assert [v for v, _ in from_spans(body)] == ["1"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b'{"files": 3}',
        b'{"files": [{"filename": 1}]}',
        b'{"files": ["demo-1.0.tar.gz"]}',
        b'{"files": [{"filename": "demo-1.0.tar.gz"}]}',
        b'{"files": [], }',
        b'{"files": [{"filename": "demo-1.0.tar.gz", "url": "x"},]}',
        b'{"files": []} trailing',
        b'{"files": []',
        b"[1, 2]",
        b'{"files": [{"filename": "demo-1.0.tar.gz", "url": "x"}] "a": 1}',
        b'{"files": [{"filename": "demo-1.0.tar.gz", "url": "x"} {"filename": "b", "url": "y"}]}',
        b'\xff{"files": []}',
    ],
)
def test_garbage_raises_what_a_full_parse_raises(body: bytes) -> None:
    with pytest.raises(IndexResponseError) as expected:
        json_listing(body, url=URL, index="IDX", project=DEMO)
    with pytest.raises(IndexResponseError) as got:
        json_page(body, url=URL, index="IDX", project=DEMO)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32-be"])
def test_other_encodings_are_digested_too(encoding: str) -> None:
    body = json.dumps({"files": MIXED}).encode(encoding)
    assert from_spans(body) == full_parse(body)


_NAMES = st.sampled_from(
    ["demo", "Demo", "DEMO", "other", "demo_x", "demo.x", "demo__x", "kemo", "\u212aemo"]
)
_VERSIONS = st.sampled_from(["1.0", "1.0.0", "01.0", "2.0rc1", "2.0-rc1", "1.0_1", "x!y", "3"])
_KINDS = st.sampled_from(
    ["-py3-none-any.whl", "-1-py3-none-any.whl", "-cp39-abi3-win32.whl", ".tar.gz", ".zip", ".egg"]
)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8) | st.just("}, {")
_ENTRIES = st.lists(
    st.builds(
        lambda name, version, kind, yanked, rp: entry(
            f"{name}-{version}{kind}", yanked=yanked, **{"requires-python": rp}
        ),
        _NAMES,
        _VERSIONS,
        _KINDS,
        st.booleans() | _TEXT,
        st.none() | st.sampled_from([">=3.8", "<4", "nonsense"]),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    entries=_ENTRIES,
    indent=st.none() | st.integers(0, 2),
    ensure_ascii=st.booleans(),
    project=st.sampled_from([DEMO, NormalizedName("demo-x"), NormalizedName("kemo")]),
)
def test_spans_agree_with_a_full_parse_on_any_page(
    entries: list[dict[str, Any]], indent: int | None, ensure_ascii: bool, project: NormalizedName
) -> None:
    body = json.dumps(
        {"name": "demo", "files": entries}, indent=indent, ensure_ascii=ensure_ascii
    ).encode()
    got = from_spans(body, project)
    assert got == full_parse(body, project)
    assert spelled(got) == spelled(full_parse(body, project))
    # The quick grouping keeps exactly the files the filename parser gives to ``project``.
    expected: dict[Version, list[str]] = {}
    for item in entries:
        parsed = parse_dist_filename(item["filename"])
        if parsed is not None and parsed[0] == project:
            expected.setdefault(parsed[1], []).append(item["filename"])
    assert [(str(v), names) for v, names in expected.items()] == [
        (v, [f.filename for f in files]) for v, files in got
    ]
    assert all(f.version == Version(v) for v, files in got for f in files)


# -- the page cache -----------------------------------------------------------------


def page_with_spans(body: bytes) -> CachedPage:
    _listing, (digest, spans) = json_page(body, url=URL, index="IDX", project=DEMO)
    return CachedPage(URL, True, [], 1.0, 600.0, etag='"e"', body=digest, base=URL, spans=spans)


def test_page_cache_round_trip(tmp_path: Path) -> None:
    body = json.dumps({"files": MIXED}, indent=1, ensure_ascii=False).encode()
    page = page_with_spans(body)
    cache = PageCache(tmp_path)
    cache.store(page)
    loaded = cache.load(URL)
    assert loaded is not None and loaded.body is not None and loaded.spans is not None
    assert page.body is not None and bytes(loaded.body) == bytes(page.body)
    assert loaded.spans == page.spans
    assert loaded.etag == '"e"' and loaded.base == URL
    listing = spans_listing(loaded.body, loaded.spans, url=URL, index="IDX", project=DEMO)
    assert groups(listing) == full_parse(body)


def _split(path: Path) -> tuple[dict[str, Any], bytes]:
    line, _newline, rest = path.read_bytes().partition(b"\n")
    size = int(line.split()[0])
    return marshal.loads(rest[:size]), rest[size:]


def _write(path: Path, doc: dict[str, Any], body: bytes) -> None:
    header = marshal.dumps(doc)
    path.write_bytes(b"%d %d\n" % (len(header), binascii.crc32(header)) + header + body)


def _rewrite(path: Path, edit: Any) -> None:
    doc, body = _split(path)
    edit(doc)
    _write(path, doc, body)


def _edit_spans(doc: dict[str, Any], part: int, change: Any) -> None:
    """Replace part ``part`` of the header's spans (versions, offsets, checks, states,
    byte order, packaging's version) by ``change(part)``, offsets and checks given and
    taken as int lists."""
    spans = list(doc["spans"])
    value = spans[part]
    if part in (1, 2):
        code = "q" if part == 1 else "I"
        spans[part] = array(code, change(list(array(code, value)))).tobytes()
    elif part == 3:
        spans[part] = tuple(change(list(value)))
    else:
        spans[part] = change(value)
    doc["spans"] = tuple(spans)


def _spans_edit(part: int, change: Any) -> Any:
    return lambda doc: _edit_spans(doc, part, change)


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: doc.update(format=3),
        lambda doc: doc.update(size=doc["size"] + 1),
        lambda doc: doc.update(spans={"1.0": [1, 2]}),
        lambda doc: doc.update(spans=doc["spans"][:4]),
        _spans_edit(0, lambda text: text + "\n3.0"),  # a version without a blob
        _spans_edit(1, lambda offsets: [1, *offsets[1:]]),
        _spans_edit(1, lambda offsets: [*offsets[:-1], offsets[-1] + 1]),
        _spans_edit(1, lambda offsets: [0, offsets[-1], *offsets[2:]]),
        _spans_edit(1, lambda offsets: [0, *offsets]),
        _spans_edit(1, lambda offsets: [-1, *offsets[1:]]),
        _spans_edit(2, lambda checks: checks[:-1]),
        _spans_edit(3, lambda states: [*states, None]),
        _spans_edit(4, lambda order: "big" if sys.byteorder == "little" else "little"),
        _spans_edit(5, lambda packaging_version: packaging_version + ".other"),  # other states
        lambda doc: doc.update(spans=(1.0, b"", b"", (), sys.byteorder, "26.2")),
        lambda doc: doc.pop("size"),
    ],
)
def test_a_header_that_does_not_fit_is_a_miss(tmp_path: Path, edit: Any) -> None:
    cache = PageCache(tmp_path)
    cache.store(page_with_spans(json.dumps({"files": MIXED}).encode()))
    (path,) = tmp_path.glob("*/*.json")
    assert cache.load(URL) is not None
    _rewrite(path, edit)
    assert cache.load(URL) is None


def test_a_short_or_long_file_is_a_miss(tmp_path: Path) -> None:
    cache = PageCache(tmp_path)
    cache.store(page_with_spans(json.dumps({"files": MIXED}).encode()))
    (path,) = tmp_path.glob("*/*.json")
    whole = path.read_bytes()
    for damaged in (whole[:-1], whole + b" ", whole[: whole.index(b"\n")]):
        path.write_bytes(damaged)
        assert cache.load(URL) is None


def test_a_header_longer_than_the_first_read_loads(tmp_path: Path) -> None:
    many = [entry(f"demo-1.{i}-py3-none-any.whl") for i in range(6000)]
    body = json.dumps({"files": many}).encode()
    cache = PageCache(tmp_path)
    cache.store(page_with_spans(body))
    (path,) = tmp_path.glob("*/*.json")
    assert int(path.read_bytes().split(b" ")[0]) > 16 * 1024  # the first read's size
    loaded = cache.load(URL)
    assert loaded is not None and loaded.body is not None and loaded.spans is not None
    listing = spans_listing(loaded.body, loaded.spans, url=URL, index="IDX", project=DEMO)
    assert groups(listing) == full_parse(body)


# A page too large to come with its header's first read: its body is read lazily.
LARGE = [*MIXED, *(entry(f"demo-1.{i}-py3-none-any.whl") for i in range(2000))]


def test_a_small_page_is_read_whole_and_a_large_one_lazily(tmp_path: Path) -> None:
    cache = PageCache(tmp_path)
    for files, lazily in ((MIXED, False), (LARGE, True)):
        body = json.dumps({"files": files}).encode()
        cache.store(page_with_spans(body))
        loaded = cache.load(URL)
        assert loaded is not None and loaded.body is not None and loaded.spans is not None
        assert isinstance(loaded.body, PageBody) is lazily
        listing = spans_listing(loaded.body, loaded.spans, url=URL, index="IDX", project=DEMO)
        assert groups(listing) == full_parse(body)


def test_a_page_replaced_after_loading_is_read_as_it_is_now(tmp_path: Path) -> None:
    old = json.dumps({"files": LARGE}).encode()
    renamed = [{**e, "url": e["url"].replace("files", "moved")} for e in LARGE]
    new = json.dumps({"files": renamed}, indent=2).encode()
    cache = PageCache(tmp_path)
    cache.store(page_with_spans(old))
    loaded = cache.load(URL)
    assert isinstance(loaded, CachedPage) and isinstance(loaded.body, PageBody)
    assert loaded.spans is not None
    listing = spans_listing(
        loaded.body, loaded.spans, url=URL, index="IDX", project=DEMO, reread=loaded.body.reread
    )
    # Another process refreshes the page before this one reads a version of it.
    cache.store(page_with_spans(new))
    assert groups(listing) == full_parse(new)
    # Then one that is damaged: an error, not an answer.
    listing = spans_listing(
        loaded.body, loaded.spans, url=URL, index="IDX", project=DEMO, reread=loaded.body.reread
    )
    (path,) = tmp_path.glob("*/*.json")
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(IndexResponseError, match="--refresh"):
        groups(listing)


def test_a_renewed_page_does_not_overwrite_a_newer_copy(tmp_path: Path) -> None:
    cache = PageCache(tmp_path)
    cache.store(page_with_spans(json.dumps({"files": LARGE}).encode()))
    loaded = cache.load(URL)
    assert loaded is not None and isinstance(loaded.body, PageBody)
    newer = json.dumps({"files": MIXED[:1]}).encode()
    cache.store(page_with_spans(newer))
    cache.store(loaded.renewed(2.0, 600.0, {}))  # the old copy's body is gone: not written
    now = cache.load(URL)
    assert now is not None and now.body is not None and now.spans is not None
    listing = spans_listing(now.body, now.spans, url=URL, index="IDX", project=DEMO)
    assert groups(listing) == full_parse(newer)


# -- through the client ---------------------------------------------------------------


def listing_of(server: IndexServer, tmp_path: Path, name: str = "demo", **kwargs: Any) -> Groups:
    settings = Settings(cache_dir=tmp_path / "cache", index_url=server.url, **kwargs)
    with IndexClient(settings) as client:
        files = client.files(NormalizedName(name))
        assert isinstance(files, FileListing)
        return groups(files)


def cache_file(tmp_path: Path) -> Path:
    (path,) = (tmp_path / "cache" / "http-v1").glob("*/*.json")
    return path


@pytest.fixture
def odd_index(index_server: IndexServer) -> IndexServer:
    index_server.cache_control = "max-age=600"
    index_server.add_wheel("odd-name", "1.0")
    index_server.add_wheel("odd-name", "1.0", tag="py2-none-any", yanked="use 1.1 ✓")
    index_server.add_wheel("odd-name", "1.0", build_tag="1", tag="cp311-cp311-linux_x86_64")
    index_server.add_sdist("odd-name", "1.0")
    index_server.add_wheel("odd-name", "1.1.post1", requires_python=">=3.8")
    index_server.add_sdist("odd-name", "2.0rc1", yanked=True)
    return index_server


def test_a_warm_listing_equals_the_cold_one(odd_index: IndexServer, tmp_path: Path) -> None:
    cold = listing_of(odd_index, tmp_path, "odd-name")
    warm = listing_of(odd_index, tmp_path, "odd-name")
    assert len(odd_index.requests_to("/simple/odd-name/")) == 1
    assert warm == cold
    assert [v for v, _ in warm] == ["1.0", "1.1.post1", "2.0rc1"]
    assert len(dict(warm)["1.0"]) == 4
    page = PageCache(tmp_path / "cache" / "http-v1").load(f"{odd_index.url}odd-name/")
    assert page is not None and page.body is not None and page.spans is not None
    assert page.base is not None
    assert spelled(warm) == spelled(cold)


def test_revalidated_and_offline_pages_keep_their_spans(
    odd_index: IndexServer, tmp_path: Path
) -> None:
    odd_index.cache_control = "max-age=0"
    cold = listing_of(odd_index, tmp_path, "odd-name")
    assert listing_of(odd_index, tmp_path, "odd-name") == cold
    assert len(odd_index.requests_to("/simple/odd-name/")) == 2  # the second got a 304
    page = PageCache(tmp_path / "cache" / "http-v1").load(f"{odd_index.url}odd-name/")
    assert page is not None and page.spans is not None
    assert listing_of(odd_index, tmp_path, "odd-name", offline=True) == cold


def test_a_damaged_cache_entry_is_fetched_again(odd_index: IndexServer, tmp_path: Path) -> None:
    cold = listing_of(odd_index, tmp_path, "odd-name")
    path = cache_file(tmp_path)
    path.write_bytes(path.read_bytes()[:-5])
    assert listing_of(odd_index, tmp_path, "odd-name") == cold
    assert len(odd_index.requests_to("/simple/odd-name/")) == 2


@pytest.mark.parametrize(
    "edit",
    [
        # Each version reads another's blob.
        _spans_edit(0, lambda text: "\n".join(reversed(text.split("\n")))),
        _spans_edit(0, lambda text: "\n".join(["not a version", *text.split("\n")[1:]])),
        _spans_edit(1, lambda offsets: [0, offsets[1] + 1, *offsets[2:]]),
        _spans_edit(2, lambda checks: [checks[0] ^ 1, *checks[1:]]),
        # States that do not restore a version.
        _spans_edit(3, lambda states: [(1, 2), *states[1:]]),
        _spans_edit(3, lambda states: ["1.0", *states[1:]]),
        _spans_edit(3, lambda states: [(0, None, None, None, None, None), *states[1:]]),
    ],
)
def test_spans_that_lie_are_an_error_not_an_answer(
    odd_index: IndexServer, tmp_path: Path, edit: Any
) -> None:
    listing_of(odd_index, tmp_path, "odd-name")
    _rewrite(cache_file(tmp_path), edit)
    with pytest.raises(IndexResponseError, match="--refresh"):
        listing_of(odd_index, tmp_path, "odd-name")
    assert len(odd_index.requests_to("/simple/odd-name/")) == 1


def test_a_damaged_or_old_header_is_a_miss(odd_index: IndexServer, tmp_path: Path) -> None:
    cold = listing_of(odd_index, tmp_path, "odd-name")
    path = cache_file(tmp_path)
    whole = path.read_bytes()
    damaged = bytearray(whole)
    damaged[whole.index(b"\n") + 20] ^= 0x40  # the checksum no longer fits
    doc, body = _split(path)
    old = json.dumps({**doc, "format": 3, "spans": None}).encode() + b"\n" + body
    for content in (bytes(damaged), old, b"", b"12 34\n"):
        path.write_bytes(content)
        assert listing_of(odd_index, tmp_path, "odd-name") == cold
    assert len(odd_index.requests_to("/simple/odd-name/")) == 5


def test_a_damaged_body_is_an_error_not_an_answer(odd_index: IndexServer, tmp_path: Path) -> None:
    listing_of(odd_index, tmp_path, "odd-name")
    path = cache_file(tmp_path)
    data = bytearray(path.read_bytes())
    start = data.index(b"odd_name-1.1.post1-py3-none-any.whl")
    data[start : start + 8] = b"@" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(IndexResponseError, match="--refresh"):
        listing_of(odd_index, tmp_path, "odd-name")


_HASHED_ENTRIES = st.lists(
    st.builds(
        lambda name, version, kind, yanked, rp, hashes, fragment: {
            **entry(f"{name}-{version}{kind}", yanked=yanked, hashes=hashes),
            "url": f"../../files/{name}{fragment}",
            "requires-python": rp,
        },
        _NAMES,
        _VERSIONS,
        _KINDS,
        st.booleans() | _TEXT | st.sampled_from([0, 1, None, [], {}]),
        st.none() | st.sampled_from([">=3.8", "<4", "nonsense", "", 3]),
        st.sampled_from([{}, {"sha256": "AB"}, {"SHA256": "ab", "md5": "x"}, {"md5": "x"}, 7]),
        st.sampled_from(["", "#sha256=CD", "#md5=EF"]),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(entries=_HASHED_ENTRIES, project=st.sampled_from([DEMO, NormalizedName("demo-x")]))
def test_a_groups_facts_are_what_its_files_say(
    entries: list[dict[str, Any]], project: NormalizedName
) -> None:
    """Judging reads a version's facts and hashes without building its files: they must
    be what the files, once built, say."""
    body = json.dumps({"name": "demo", "files": entries}).encode()
    fresh, (digest, spans) = json_page(body, url=URL, index="IDX", project=project)
    listings = [
        fresh,
        json_listing(body, url=URL, index="IDX", project=project),
        spans_listing(digest, spans, url=URL, index="IDX", project=project),
    ]
    for listing in listings:
        for version in listing.versions():
            group = listing.group(version)
            filenames = list(group.filenames)
            facts = [group.facts(at) for at in range(len(group))]
            hashes = [group.sha256(at) for at in range(len(group))]
            files = tuple(group)
            assert filenames == [f.filename for f in files]
            assert facts == [(f.requires_python, f.yanked is not None) for f in files]
            assert hashes == [f.sha256 for f in files]
