"""``pip compile --universal``: resolve for a grid of platforms and Pythons, then merge.

The grid is every platform below for each Python minor from the lower bound
(``--python-version``, else the interpreter's) up to ``NEWEST_PYTHON_MINOR``;
``core.lock.universal`` merges the resolutions into pins with markers.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from cloche.core.finder import PackageFinder
from cloche.core.lock.universal import UniversalPin, merge_universal
from cloche.core.models import Resolution, UserRequirement
from cloche.core.report import Reporter
from cloche.core.resolver import ResolveOptions, resolve
from cloche.core.targets import target_for
from cloche.errors import ClocheError, UsageError

UNIVERSAL_PLATFORMS = ("linux", "linux-aarch64", "macos", "macos-x86_64", "windows")
"""The platforms a universal file is resolved for (the marker environments differ on
``sys_platform`` and ``platform_machine``)."""
NEWEST_PYTHON_MINOR = 14
"""The newest Python (3.x) resolved for; newer ones take its pins (the markers say
``python_version >= ...``)."""


def python_minors(lower: Version) -> list[int]:
    """The grid's Python minors: from ``lower`` up to the newest one known."""
    if lower.major != 3:
        raise UsageError(f"--universal resolves for Python 3, not {lower}")
    return list(range(lower.minor, max(lower.minor, NEWEST_PYTHON_MINOR) + 1))


def resolve_universal(
    requirements: Sequence[UserRequirement],
    finder: PackageFinder,
    lower: Version,
    options: ResolveOptions,
    reporter: Reporter,
) -> tuple[list[list[Resolution]], list[UniversalPin]]:
    """One resolution per (platform, Python) and their merge; the first that fails is
    raised, naming its platform and Python."""
    minors = python_minors(lower)
    grid: list[list[Resolution]] = []
    for platform in UNIVERSAL_PLATFORMS:
        row: list[Resolution] = []
        for minor in minors:
            version = str(lower) if minor == lower.minor else f"3.{minor}"
            target = target_for(version, platform)
            try:
                row.append(resolve(requirements, finder, target, options, reporter))
            except ClocheError as exc:
                raise _for_target(exc, platform, minor) from None
        grid.append(row)
    return grid, merge_universal(grid, minors)


def _for_target(exc: ClocheError, platform: str, minor: int) -> ClocheError:
    """The same error, its first line saying which part of the grid failed."""
    first, newline, rest = exc.message.partition("\n")
    where = f"(resolving universally: failed for {platform} with Python 3.{minor})"
    return type(exc)(f"{first} {where}{newline}{rest}", hint=exc.hint)
