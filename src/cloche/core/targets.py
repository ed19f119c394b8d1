"""Resolution targets for other machines (``--python-version`` / ``--python-platform``).

A target is a marker environment plus the ordered wheel tags a CPython of that
version accepts on that platform. Tags come from ``packaging.tags``; only the
platform tag lists are spelled out here, because ``packaging`` derives them
from the running machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.version import Version

from cloche.core.models import Target
from cloche.errors import UsageError

__all__ = ["TARGET_NAMES", "default_lock_targets", "target_for"]


@dataclass(frozen=True, slots=True)
class _Platform:
    """Marker values and wheel platform tags of one named platform."""

    label: str
    os_name: str
    sys_platform: str
    platform_system: str
    platform_machine: str
    platform_tags: tuple[str, ...]


def _manylinux(arch: str, newest_glibc_minor: int) -> Iterator[str]:
    # Same order as packaging's own manylinux tags: newest glibc first, each
    # legacy alias right after the glibc version it stands for.
    oldest = 17 if arch == "aarch64" else 5
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    for minor in range(newest_glibc_minor, oldest - 1, -1):
        yield f"manylinux_2_{minor}_{arch}"
        if minor in legacy and (arch == "x86_64" or minor == 17):
            yield f"{legacy[minor]}_{arch}"
    yield f"linux_{arch}"


def _musllinux(arch: str, newest_minor: int = 2) -> Iterator[str]:
    for minor in range(newest_minor, -1, -1):
        yield f"musllinux_1_{minor}_{arch}"
    yield f"linux_{arch}"


def _linux(label: str, machine: str, tags: Iterator[str]) -> _Platform:
    return _Platform(label, "posix", "linux", "Linux", machine, tuple(tags))


def _macos(label: str, arch: str, version: tuple[int, int] = (14, 0)) -> _Platform:
    return _Platform(label, "posix", "darwin", "Darwin", arch, tuple(mac_platforms(version, arch)))


_LINUX = _linux("linux", "x86_64", _manylinux("x86_64", 28))
_LINUX_AARCH64 = _linux("linux-aarch64", "aarch64", _manylinux("aarch64", 28))
_MUSLLINUX = _linux("musllinux", "x86_64", _musllinux("x86_64"))
_MACOS = _macos("macos", "arm64")
_MACOS_X86_64 = _macos("macos-x86_64", "x86_64")
_WINDOWS = _Platform("windows", "nt", "win32", "Windows", "AMD64", ("win_amd64",))
_WINDOWS_ARM64 = _Platform("windows-arm64", "nt", "win32", "Windows", "ARM64", ("win_arm64",))
_WINDOWS_X86 = _Platform("windows-x86", "nt", "win32", "Windows", "x86", ("win32",))

_PLATFORMS: dict[str, _Platform] = {
    "linux": _LINUX,
    "x86_64-unknown-linux-gnu": _LINUX,
    "x86_64-manylinux_2_28": _LINUX,
    "linux-aarch64": _LINUX_AARCH64,
    "aarch64-unknown-linux-gnu": _LINUX_AARCH64,
    "aarch64-manylinux_2_28": _LINUX_AARCH64,
    "musllinux": _MUSLLINUX,
    "x86_64-musllinux_1_2": _MUSLLINUX,
    "macos": _MACOS,
    "aarch64-apple-darwin": _MACOS,
    "macos-x86_64": _MACOS_X86_64,
    "x86_64-apple-darwin": _MACOS_X86_64,
    "windows": _WINDOWS,
    "x86_64-pc-windows-msvc": _WINDOWS,
    "win_amd64": _WINDOWS,
    "windows-arm64": _WINDOWS_ARM64,
    "aarch64-pc-windows-msvc": _WINDOWS_ARM64,
    "win_arm64": _WINDOWS_ARM64,
    "windows-x86": _WINDOWS_X86,
    "i686-pc-windows-msvc": _WINDOWS_X86,
    "win32": _WINDOWS_X86,
}
_SPELLED_OUT = (
    "[x86_64-|aarch64-]manylinux_2_17 ... manylinux_2_40, manylinux2014, musllinux_1_0 ... "
    "musllinux_1_2, [arch-]unknown-linux-musl, macosx_11_0_arm64, macosx_10_15_x86_64"
)

_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
_LEGACY_MANYLINUX = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}
# Pattern texts, compiled (through re's cache) only when a platform is spelled out.
_LINUX_TAG = (
    r"^(?:(?P<pre>x86_64|aarch64)-)?(?:(?P<many>manylinux_2_(?P<glibc>\d+)|manylinux2014|"
    r"manylinux2010|manylinux1)|musllinux_1_(?P<musl>\d+)|unknown-linux-(?P<libc>gnu|musl))"
    r"(?:_(?P<post>x86_64|aarch64))?$"
)
_MAC_TAG = r"^macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>x86_64|arm64|aarch64)$"


def _spelled_platform(name: str) -> _Platform | None:
    """A platform named by its wheel tag or target triple, as uv accepts them.

    ``manylinux_2_17`` (or ``x86_64-manylinux_2_17``, ``manylinux2014_aarch64``),
    ``musllinux_1_1``, ``aarch64-unknown-linux-musl``, ``macosx_11_0_arm64``.
    """
    mac = re.match(_MAC_TAG, name)
    if mac is not None:
        arch = "arm64" if mac["arch"] != "x86_64" else "x86_64"
        label = "macos" if arch == "arm64" else "macos-x86_64"
        return _macos(label, arch, (int(mac["major"]), int(mac["minor"])))
    linux = re.match(_LINUX_TAG, name)
    if linux is None or (linux["pre"] and linux["post"]):
        return None
    arch = _ARCHES[linux["pre"] or linux["post"] or "x86_64"]
    label = "linux" if arch == "x86_64" else "linux-aarch64"
    if linux["musl"] is not None or linux["libc"] == "musl":
        newest = int(linux["musl"]) if linux["musl"] is not None else 2
        return _linux(
            "musllinux" if arch == "x86_64" else "musllinux-aarch64", arch, _musllinux(arch, newest)
        )
    if linux["libc"] == "gnu":
        return _linux(label, arch, _manylinux(arch, 28))
    glibc = int(linux["glibc"]) if linux["glibc"] else _LEGACY_MANYLINUX[linux["many"] or name]
    oldest = 17 if arch == "aarch64" else 5
    if glibc < oldest or glibc > 99:
        return None
    return _linux(label, arch, _manylinux(arch, glibc))


TARGET_NAMES: tuple[str, ...] = tuple(_PLATFORMS)
"""Every platform name ``target_for`` accepts."""

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


def _marker_env(version: Version, plat: _Platform) -> tuple[tuple[str, str], ...]:
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
    key = platform.strip().lower()
    plat = _PLATFORMS.get(key) or _spelled_platform(key)
    if plat is None:
        raise UsageError(
            f"unknown platform '{platform}' (valid: {', '.join(TARGET_NAMES)}, {_SPELLED_OUT})"
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
