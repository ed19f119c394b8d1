"""Requires-Dist lines parsed with shared parts are the requirements packaging parses."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from cloche.adapters.index.requires_dist import parse_requires_dist

LINES = [
    "numpy>=1.22.4",
    "numpy>=1.22.4; python_version < '3.11'",
    'pytest>=7; extra == "test"',
    'pytest>=7; extra == "dev"',
    "Foo_Bar[X,y] >= 1 , <2 ;extra=='x' and python_version<'3.9'",
    "foo (>=1.0) ; extra == 'a'",
    "foo;python_version>'3'",
    "foo @ https://example.com/foo-1.0.tar.gz#sha256=00 ; python_version > '3'",
    "foo @ https://example.com/a;b/foo-1.0.tar.gz",
]


@pytest.mark.parametrize("line", LINES)
def test_same_requirement_as_packaging(line: str) -> None:
    expected, got = Requirement(line), parse_requires_dist(line)
    assert got == expected and hash(got) == hash(expected)
    assert (got.name, got.url, got.extras) == (expected.name, expected.url, expected.extras)
    assert str(got) == str(expected) and str(got.marker) == str(expected.marker)


def test_equal_lines_do_not_share_extras() -> None:
    first, second = parse_requires_dist("a[x]>=1"), parse_requires_dist("a[x]>=1")
    assert first.extras == second.extras and first.extras is not second.extras


@pytest.mark.parametrize("line", ["foo ; ", ";x", "foo>=1 bar; x", "foo;;", "foo; extra =="])
def test_invalid_lines_fail_as_packaging_fails(line: str) -> None:
    with pytest.raises(ValueError) as expected:
        Requirement(line)
    with pytest.raises(ValueError) as got:
        parse_requires_dist(line)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)


@pytest.mark.parametrize(
    "line",
    [
        "a",
        "a_",
        "a-1.0",
        "a.b[c_d,e-f]",
        "a[x]",
        "a===1.0+local",
        "a==1.0.*,!=1.0.3",
        "a~=1.4.2",
        "a>=1.0-1",
        "a (>=1.0, <2)",
        "a[ x , y ]>=1",
        "a>=1,",
        "a>=1.0.*",
        "a>=",
        "a[]",
    ],
)
def test_requirement_parts_as_packaging_parses_them(line: str) -> None:
    try:
        expected = Requirement(line)
    except ValueError as error:
        with pytest.raises(ValueError) as got:
            parse_requires_dist(line)
        assert type(got.value) is type(error) and str(got.value) == str(error)
        return
    got_req = parse_requires_dist(line)
    assert (got_req.name, got_req.url, got_req.extras) == (
        expected.name,
        expected.url,
        expected.extras,
    )
    assert got_req.specifier == expected.specifier and str(got_req) == str(expected)
    assert [(s.operator, s.version) for s in got_req.specifier] == [
        (s.operator, s.version) for s in expected.specifier
    ]
