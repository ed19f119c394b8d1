"""The platforms ``--python-platform`` names: marker values and wheel platform tags.

Apart from ``targets`` so that a target for the host's own platform (``pip compile
--python-version`` alone) never builds this table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from packaging.tags import mac_platforms

__all__ = ["SPELLED_OUT", "TARGET_NAMES", "TargetPlatform", "platform_named"]


@dataclass(frozen=True, slots=True)
class TargetPlatform:
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


def _linux(label: str, machine: str, tags: Iterator[str]) -> TargetPlatform:
    return TargetPlatform(label, "posix", "linux", "Linux", machine, tuple(tags))


def _macos(label: str, arch: str, version: tuple[int, int] = (14, 0)) -> TargetPlatform:
    return TargetPlatform(
        label, "posix", "darwin", "Darwin", arch, tuple(mac_platforms(version, arch))
    )


_LINUX = _linux("linux", "x86_64", _manylinux("x86_64", 28))
_LINUX_AARCH64 = _linux("linux-aarch64", "aarch64", _manylinux("aarch64", 28))
_MUSLLINUX = _linux("musllinux", "x86_64", _musllinux("x86_64"))
_MACOS = _macos("macos", "arm64")
_MACOS_X86_64 = _macos("macos-x86_64", "x86_64")
_WINDOWS = TargetPlatform("windows", "nt", "win32", "Windows", "AMD64", ("win_amd64",))
_WINDOWS_ARM64 = TargetPlatform("windows-arm64", "nt", "win32", "Windows", "ARM64", ("win_arm64",))
_WINDOWS_X86 = TargetPlatform("windows-x86", "nt", "win32", "Windows", "x86", ("win32",))

_PLATFORMS: dict[str, TargetPlatform] = {
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
SPELLED_OUT = (
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


def _spelled_platform(name: str) -> TargetPlatform | None:
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


def platform_named(name: str) -> TargetPlatform | None:
    """The platform ``name`` (a label, a target triple or a wheel platform tag) stands for."""
    key = name.strip().lower()
    return _PLATFORMS.get(key) or _spelled_platform(key)
