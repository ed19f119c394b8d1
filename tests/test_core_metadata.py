from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.core.metadata import is_static_sdist_metadata, parse_core_metadata
from cloche.errors import InvalidMetadata

GOOD = b"""Metadata-Version: 2.1
Name: Demo_Pkg
Version: 1.2.0
Requires-Python: >=3.9
Requires-Dist: numpy>=1.20
Requires-Dist: pytest; extra == "Test_Extra"
Provides-Extra: Test_Extra

A long description.
"""


def test_parses_the_fields_the_resolver_needs() -> None:
    meta = parse_core_metadata(GOOD, source="demo.whl")
    assert meta.name == "demo-pkg"
    assert meta.version == Version("1.2.0")
    assert meta.requires_python == SpecifierSet(">=3.9")
    assert [str(r) for r in meta.requires_dist] == ["numpy>=1.20", 'pytest; extra == "test-extra"']
    assert meta.provides_extras == frozenset({"test-extra"})


def test_minimal_metadata_has_no_requirements() -> None:
    meta = parse_core_metadata(b"Metadata-Version: 2.1\nName: a\nVersion: 1\n", source="a")
    assert meta.requires_dist == ()
    assert meta.requires_python is None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"Metadata-Version: 2.1\nVersion: 1\n", "no Name"),
        (b"Metadata-Version: 2.1\nName: a\n", "no Version"),
        (b"Metadata-Version: 2.1\nName: a\nVersion: not-a-version\n", "invalid Version"),
        (b"Name: a\nVersion: 1\nRequires-Dist: foo (>dev\n", "invalid Requires-Dist"),
        (b"Name: a\nVersion: 1\nRequires-Python: >=3.x\n", "invalid Requires-Python"),
        (b"\x00\xff garbage", "no Name"),
    ],
)
def test_broken_metadata_is_one_clear_error(data: bytes, fragment: str) -> None:
    with pytest.raises(InvalidMetadata) as info:
        parse_core_metadata(data, source="broken-1.0.whl")
    assert fragment in str(info.value)
    assert "broken-1.0.whl" in str(info.value)


@pytest.mark.parametrize(
    ("header", "static"),
    [
        ("Metadata-Version: 2.2\n", True),
        ("Metadata-Version: 2.4\nDynamic: Summary\n", True),
        ("Metadata-Version: 2.1\n", False),
        ("Metadata-Version: 2.2\nDynamic: Requires-Dist\n", False),
        ("Metadata-Version: 2.3\nDynamic: requires-python\n", False),
        ("Metadata-Version: junk\n", False),
    ],
)
def test_static_sdist_metadata(header: str, static: bool) -> None:
    data = (header + "Name: a\nVersion: 1\n").encode()
    assert is_static_sdist_metadata(data) is static


@pytest.mark.parametrize(
    ("line", "read"),
    [
        ("numpy (>=1.19.*)", "numpy>=1.19"),
        ("numpy >=1.19.*,<2", "numpy<2,>=1.19"),
        ("torch (>=1.6.0,)", "torch>=1.6.0"),
        ("numpy==1.19.*", "numpy==1.19.*"),
    ],
)
def test_legacy_requires_dist_is_read_leniently(line: str, read: str) -> None:
    data = f"Metadata-Version: 2.1\nName: torchsde\nVersion: 0.2.5\nRequires-Dist: {line}\n"
    (requirement,) = parse_core_metadata(data.encode(), source="torchsde-0.2.5.whl").requires_dist
    assert str(requirement) == read
