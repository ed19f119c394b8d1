"""Which index answers which name: extra indexes first, pins, explicit indexes, strategies."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cloche.adapters.index import IndexClient
from cloche.config import IndexStrategy, Settings, load_settings
from cloche.core.models import NormalizedName
from cloche.errors import NoVersionError, UsageError
from cloche.named_indexes import NamedIndex
from tests.support.cli import Result, cloche
from tests.support.index_server import IndexServer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MakeIndex = Callable[[], IndexServer]


def client(tmp_path: Path, default: IndexServer, *extras: IndexServer, **kw: Any) -> IndexClient:
    return IndexClient(
        Settings(
            cache_dir=tmp_path / "cache",
            index_url=default.url,
            extra_index_urls=tuple(e.url for e in extras),
            **kw,
        )
    )


def files_of(c: IndexClient, name: str) -> list[tuple[str, str]]:
    return [(f.filename, f.index) for f in c.files(NormalizedName(name))]


def test_extra_index_wins_over_the_default_one(make_index: MakeIndex, tmp_path: Path) -> None:
    pypi, pytorch = make_index(), make_index()
    pypi.add_wheel("torch", "2.6.0")  # higher, but the extra index has the name
    pypi.add_wheel("numpy", "2.1.0")
    pytorch.add_wheel("torch", "2.5.1+cu126")
    with client(tmp_path, pypi, pytorch) as c:
        assert files_of(c, "torch") == [("torch-2.5.1+cu126-py3-none-any.whl", pytorch.url)]
        assert files_of(c, "numpy") == [("numpy-2.1.0-py3-none-any.whl", pypi.url)]
    # First match: the default index is never asked for a name the extra one has.
    assert pypi.requests_to("/simple/torch/") == []


def test_extra_indexes_in_the_order_given(make_index: MakeIndex, tmp_path: Path) -> None:
    pypi, first, second = make_index(), make_index(), make_index()
    first.add_wheel("demo", "1.0")
    second.add_wheel("demo", "2.0")
    with client(tmp_path, pypi, first, second) as c:
        assert files_of(c, "demo") == [("demo-1.0-py3-none-any.whl", first.url)]
    assert second.requests_to("/simple/demo/") == []


def test_explicit_index_serves_only_its_pinned_packages(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    pypi, pytorch = make_index(), make_index()
    pypi.add_wheel("torch", "2.6.0")
    pypi.add_wheel("numpy", "2.1.0")
    pytorch.add_wheel("torch", "2.5.1+cu126")
    pytorch.add_wheel("numpy", "9.9")  # never used: numpy is not pinned to it
    named = (NamedIndex("pytorch", pytorch.url, explicit=True),)
    with client(tmp_path, pypi, indexes=named, package_indexes={"Torch": pytorch.url}) as c:
        assert files_of(c, "torch") == [("torch-2.5.1+cu126-py3-none-any.whl", pytorch.url)]
        assert files_of(c, "numpy") == [("numpy-2.1.0-py3-none-any.whl", pypi.url)]
    assert pytorch.requests_to("/simple/numpy/") == []
    assert pypi.requests_to("/simple/torch/") == []


def test_pinned_package_missing_on_its_index_is_an_error(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    pypi, pytorch = make_index(), make_index()
    pypi.add_wheel("torch", "2.6.0")
    pinned = client(tmp_path, pypi, package_indexes={"torch": pytorch.url})
    with pinned as c, pytest.raises(NoVersionError) as err:
        c.files(NormalizedName("torch"))
    assert pytorch.url in str(err.value) and "pinned" in str(err.value)
    assert pypi.requests_to("/simple/torch/") == []  # no fallback


def test_unsafe_best_match_merges_and_the_first_index_keeps_a_shared_version(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    pypi, extra = make_index(), make_index()
    extra.add_wheel("demo", "1.0")
    extra.add_wheel("demo", "2.0")
    pypi.add_wheel("demo", "2.0")
    pypi.add_wheel("demo", "3.0")
    strategy = IndexStrategy.UNSAFE_BEST_MATCH
    with client(tmp_path, pypi, extra, index_strategy=strategy) as c:
        got = sorted(files_of(c, "demo"))
    assert got == [
        ("demo-1.0-py3-none-any.whl", extra.url),
        ("demo-2.0-py3-none-any.whl", extra.url),
        ("demo-3.0-py3-none-any.whl", pypi.url),
    ]


def test_unsafe_first_match_lists_the_first_index_versions_first(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    pypi, extra = make_index(), make_index()
    extra.add_wheel("demo", "1.0")
    extra.add_wheel("demo", "2.0")
    pypi.add_wheel("demo", "2.0")
    pypi.add_wheel("demo", "3.0")
    strategy = IndexStrategy.UNSAFE_FIRST_MATCH
    with client(tmp_path, pypi, extra, index_strategy=strategy) as c:
        listing = c.files(NormalizedName("demo"))
        got = files_of(c, "demo")
    assert getattr(listing, "in_preference_order", False)
    assert got == [
        ("demo-2.0-py3-none-any.whl", extra.url),
        ("demo-1.0-py3-none-any.whl", extra.url),
        ("demo-3.0-py3-none-any.whl", pypi.url),
    ]


def _compile(
    pypi: IndexServer, extra: IndexServer, tmp_path: Path, line: str, *flags: str
) -> Result:
    (tmp_path / "requirements.in").write_text(line + "\n")
    return cloche(
        "pip", "compile", "requirements.in", "--index-url", pypi.url,
        "--extra-index-url", extra.url, *flags,
        cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "request_line", "expected"),
    [
        ((), "demo", "demo==1.0"),  # first-index: only the extra index's versions
        (("--index-strategy", "unsafe-first-match"), "demo", "demo==1.0"),  # extra's first
        (("--index-strategy", "unsafe-first-match"), "demo>1.0", "demo==3.0"),  # then default
        (("--index-strategy", "unsafe-best-match"), "demo", "demo==3.0"),  # best anywhere
    ],
)
def test_strategies_end_to_end(
    make_index: MakeIndex,
    tmp_path: Path,
    flags: tuple[str, ...],
    request_line: str,
    expected: str,
) -> None:
    pypi, extra = make_index(), make_index()
    extra.add_wheel("demo", "1.0")
    pypi.add_wheel("demo", "3.0")
    result = _compile(pypi, extra, tmp_path, request_line, *flags)
    assert result.code == 0, result
    assert expected in result.out


def test_first_index_without_a_fitting_version_does_not_fall_back(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    pypi, extra = make_index(), make_index()
    extra.add_wheel("demo", "1.0")
    pypi.add_wheel("demo", "3.0")
    result = _compile(pypi, extra, tmp_path, "demo>1.0")
    assert result.code != 0
    assert "demo" in result.err


def test_project_settings_read_named_indexes_and_pins(tmp_path: Path) -> None:
    table = {
        "index": [
            {"name": "pytorch-cu126", "url": "https://download.pytorch.org/whl/cu126",
             "explicit": True},
            {"name": "internal", "url": "https://pkgs.example/simple/"},
        ],
        "extra-index-url": ["https://extra.example/simple/"],
        "sources": {"Torch": {"index": "pytorch-cu126"}, "mylib": {"path": "libs/mylib"}},
    }  # fmt: skip
    settings = load_settings(project_table=table, environ={"CLOCHE_CONFIG_FILE": "/nonexistent"})
    assert settings.package_indexes == {"torch": "https://download.pytorch.org/whl/cu126"}
    assert settings.index_search_order == (
        "https://extra.example/simple/",
        "https://pkgs.example/simple/",
        "https://pypi.org/simple/",
    )
    assert "https://download.pytorch.org/whl/cu126" in settings.index_urls
    bad = {"sources": {"torch": {"index": "nope"}}}
    with pytest.raises(UsageError, match="names index 'nope'"):
        load_settings(project_table=bad, environ={"CLOCHE_CONFIG_FILE": "/nonexistent"})


def test_project_lock_records_each_package_index(make_index: MakeIndex, tmp_path: Path) -> None:
    pypi, pytorch = make_index(), make_index()
    pypi.add_wheel("torch", "2.6.0", requires=["numpy"])
    pypi.add_wheel("numpy", "2.1.0")
    pytorch.add_wheel("torch", "2.5.1+cu126", requires=["numpy"])
    pytorch.add_wheel("numpy", "9.9")
    (tmp_path / "pyproject.toml").write_text(
        f"""[project]
name = "app"
version = "0.1"
requires-python = ">=3.8"
dependencies = ["torch", "numpy"]

[tool.cloche]
index-url = "{pypi.url}"
targets = ["linux"]

[[tool.cloche.index]]
name = "pytorch-cu126"
url = "{pytorch.url}"
explicit = true

[tool.cloche.sources]
torch = {{ index = "pytorch-cu126" }}
"""
    )
    result = cloche("lock", cwd=tmp_path)
    assert result.code == 0, result
    lock = tomllib.loads((tmp_path / "pylock.toml").read_text())
    index_of = {p["name"]: (p["version"], p["index"]) for p in lock["packages"]}
    assert index_of["torch"] == ("2.5.1+cu126", f"{pytorch.url.rstrip('/')}/torch/")
    assert index_of["numpy"] == ("2.1.0", f"{pypi.url.rstrip('/')}/numpy/")
    assert cloche("lock", "--check", cwd=tmp_path).code == 0
