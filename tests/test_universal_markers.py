"""core.lock.universal: merged pins and the markers that separate them."""

from __future__ import annotations

from packaging.markers import Marker
from packaging.version import Version

from cloche.core.lock.universal import merge_universal
from cloche.core.models import NormalizedName, Resolution, ResolvedPackage
from cloche.core.targets import target_for

PLATFORMS = ("linux", "macos", "windows")
PYTHONS = (10, 11, 12, 13)


def grid(pick: dict[tuple[str, int], str]) -> list[list[Resolution]]:
    """One resolution per (platform, minor); ``pick`` gives demo's version there."""
    rows = []
    for platform in PLATFORMS:
        row = []
        for minor in PYTHONS:
            version = pick.get((platform, minor))
            packages = (
                (ResolvedPackage(NormalizedName("demo"), Version(version), (), None),)
                if version
                else ()
            )
            row.append(Resolution(target_for(f"3.{minor}", platform), packages))
        rows.append(row)
    return rows


def chosen(pins: list, platform: str, minor: int) -> list[str]:
    env = target_for(f"3.{minor}", platform).markers
    return [
        str(pin.package.version)
        for pin in pins
        if pin.marker is None or Marker(pin.marker).evaluate(env)
    ]


def test_everywhere_has_no_marker() -> None:
    pins = merge_universal(grid({(p, y): "1" for p in PLATFORMS for y in PYTHONS}), PYTHONS)
    assert [(str(p.package.version), p.marker) for p in pins] == [("1", None)]


def test_each_grid_cell_gets_exactly_its_pin() -> None:
    pick = {
        (p, y): ("1" if (y in (10, 12) and p != "windows") else "2")
        for p in PLATFORMS
        for y in PYTHONS
    }
    pick.pop(("windows", 13))  # absent there
    pins = merge_universal(grid(pick), PYTHONS)
    for platform in PLATFORMS:
        for minor in PYTHONS:
            expected = [pick[(platform, minor)]] if (platform, minor) in pick else []
            assert chosen(pins, platform, minor) == expected, (platform, minor, pins)


def test_python_ranges_read_as_bounds() -> None:
    pick = {(p, y): ("1" if y < 12 else "2") for p in PLATFORMS for y in PYTHONS}
    pins = merge_universal(grid(pick), PYTHONS)
    assert [p.marker for p in pins] == ["python_version < '3.12'", "python_version >= '3.12'"]
    assert chosen(pins, "linux", 20) == ["2"]
