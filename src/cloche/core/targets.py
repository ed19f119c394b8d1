"""Resolution targets for other machines (``--python-version`` / ``--python-platform``).

A target is a marker environment plus the ordered wheel tags a CPython of that
version accepts on that platform. Tags come from ``packaging.tags``; only the
platform tag lists are spelled out (in ``target_platforms``), because ``packaging``
derives them from the running machine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.version import Version

from cloche.core.models import Target
from cloche.errors import UsageError

if TYPE_CHECKING:
    from cloche.core.target_platforms import TargetPlatform

__all__ = ["default_lock_targets", "target_for"]


_VERSION_RE = re.compile(r"^3\.(\d+)(?:\.(\d+))?$")


def _parse_python_version(text: str) -> Version:
    match = _VERSION_RE.match(text.strip())
    if match is None:
        raise UsageError(f"invalid Python version '{text}': expected e.g. 3.10 or 3.10.4")
    return Version(f"3.{match[1]}.{match[2] or 0}")


def _tags(version: Version, platforms: Sequence[str]) -> tuple[Tag, ...]:
    py = (version.major, version.minor)
    interpreter = f"cp{version.major}{version.minor}"
    ordered = [*cpython_tags(py, abis=[interpreter], platforms=platforms)]
    ordered += compatible_tags(py, interpreter=interpreter, platforms=platforms)
    return tuple(dict.fromkeys(ordered))


def _version_markers(version: Version) -> dict[str, str]:
    return {
        "python_version": f"{version.major}.{version.minor}",
        "python_full_version": str(version),
        "implementation_version": str(version),
    }


def _marker_env(version: Version, plat: TargetPlatform) -> tuple[tuple[str, str], ...]:
    env = {
        "implementation_name": "cpython",
        "os_name": plat.os_name,
        "platform_machine": plat.platform_machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": plat.platform_system,
        "platform_version": "",
        "sys_platform": plat.sys_platform,
        **_version_markers(version),
    }
    return tuple(sorted(env.items()))


def _host_platform_tags(host: Target) -> list[str]:
    return list(dict.fromkeys(t.platform for t in host.tags if t.platform != "any"))


def target_for(python_version: str, platform: str | None, host: Target | None = None) -> Target:
    """The target for a CPython ``python_version`` ("3.10", "3.10.4") on a named platform.

    With ``platform=None`` the host's platform tags and markers are kept and only
    the Python version changes.
    """
    version = _parse_python_version(python_version)
    if platform is None:
        if host is None:
            raise UsageError("a platform name is needed to resolve for another machine")
        markers = dict(host.marker_env)
        keep_impl = markers.get("implementation_name", "cpython") != "cpython"
        new = _version_markers(version)
        if keep_impl:  # a PyPy host's implementation_version is PyPy's own
            del new["implementation_version"]
        markers |= new
        return Target(
            python_version=version,
            marker_env=tuple(sorted(markers.items())),
            tags=_tags(version, _host_platform_tags(host)),
            platform=host.platform,
        )
    from cloche.core.target_platforms import SPELLED_OUT, TARGET_NAMES, platform_named

    plat = platform_named(platform)
    if plat is None:
        raise UsageError(
            f"unknown platform '{platform}' (valid: {', '.join(TARGET_NAMES)}, {SPELLED_OUT})"
        )
    return Target(
        python_version=version,
        marker_env=_marker_env(version, plat),
        tags=_tags(version, plat.platform_tags),
        platform=plat.label,
    )


def _lowest_allowed_python(requires_python: SpecifierSet) -> str:
    for minor in range(8, 15):
        for patch in range(31):
            if requires_python.contains(f"3.{minor}.{patch}", prereleases=True):
                return f"3.{minor}.{patch}"
    raise UsageError(
        f"requires-python '{requires_python}' allows no Python from 3.8 to 3.14; "
        "widen it in pyproject.toml"
    )


def default_lock_targets(requires_python: SpecifierSet) -> list[Target]:
    """linux, macos and windows targets for the lowest Python that ``requires_python`` allows."""
    version = _lowest_allowed_python(requires_python)
    return [target_for(version, name) for name in ("linux", "macos", "windows")]
