"""Raw deflate through ISA-L or zlib: the same bytes, the same refusals."""

from __future__ import annotations

import os
import zlib

import pytest

from cloche.adapters.store import inflate


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.fixture(params=["default", "zlib"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "zlib":
        monkeypatch.setattr(inflate, "_fast", None)
    return str(request.param)


def test_the_fast_engine_is_used_where_installed() -> None:
    assert inflate.ENGINE in ("isal", "zlib")


def test_round_trip(engine: str) -> None:
    data = os.urandom(50_000) + b"x" * 200_000
    inflater = inflate.raw_inflater()
    assert inflater.decompress(_deflate(data), len(data) + 1) == data
    assert inflater.eof


def test_a_cap_stops_a_member_that_inflates_past_its_size(engine: str) -> None:
    data = b"y" * 100_000
    inflater = inflate.raw_inflater()
    out = inflater.decompress(_deflate(data), 1_001)
    assert len(out) == 1_001
    assert not inflater.eof


def test_a_cut_stream_is_not_at_eof(engine: str) -> None:
    packed = _deflate(os.urandom(10_000))
    inflater = inflate.raw_inflater()
    inflater.decompress(packed[: len(packed) // 2], 20_000)
    assert not inflater.eof


def test_garbage_raises_one_of_the_errors(engine: str) -> None:
    with pytest.raises(inflate.ERRORS):
        inflate.raw_inflater().decompress(b"\xff" * 64, 1_000)
