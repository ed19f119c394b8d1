"""Wheel tags of a probed interpreter, computed in our process with packaging.tags.

packaging only computes platform lists for the *running* interpreter; the small
parts that read the running process (ABI flags, manylinux/musllinux platform
lists) are redone here from the probe's values, mirroring packaging's rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from packaging import tags
from packaging.tags import Tag

# glibc has never changed its major version; packaging assumes 50 as the last
# minor of any past major, which only matters if it ever does.
_LAST_GLIBC_MINOR = 50
_MANYLINUX_ARCHS = frozenset(
    {"x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"}
)
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}

# ELF constants (see packaging._elffile / the ARM ELF ABI).
_ELF_CLASS32 = 1
_ELF_LSB = 1
_EM_386 = 3
_EM_ARM = 40
_ARM_ABIMASK = 0xFF000000
_ARM_ABI_VER5 = 0x05000000
_ARM_FLOAT_HARD = 0x00000400


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def compute_tags(data: Mapping[str, Any]) -> list[Tag]:
    """Ordered compatible tags (best first) for the interpreter a probe described."""
    major, minor = int(data["version_info"][0]), int(data["version_info"][1])
    python_version = (major, minor)
    name = tags.INTERPRETER_SHORT_NAMES.get(data["implementation"]) or data["implementation"]
    nodot = str(data.get("py_version_nodot") or f"{major}{minor}")
    platforms = list(_platforms(data))
    result: list[Tag]
    if name == "cp":
        abis = _cpython_abis(data, python_version)
        result = list(tags.cpython_tags(python_version, abis, platforms))
        compat_interpreter: str | None = f"cp{nodot}"
    else:
        result = list(tags.generic_tags(f"{name}{nodot}", _generic_abis(data), platforms))
        compat_interpreter = "pp3" if name == "pp" else None
    result.extend(tags.compatible_tags(python_version, compat_interpreter, platforms))
    return result


def _cpython_abis(data: Mapping[str, Any], python_version: tuple[int, int]) -> list[str]:
    with_debug = data.get("py_debug")
    debug = ""
    if with_debug or (with_debug is None and (data["has_refcount"] or data["has_debug_pyd"])):
        debug = "d"
    threading = "t" if python_version >= (3, 13) and data.get("gil_disabled") else ""
    version = f"{python_version[0]}{python_version[1]}"
    abis = [f"cp{version}{threading}{debug}"]
    if debug:
        # Debug builds can also load normal extension modules.
        abis.append(f"cp{version}{threading}")
    return abis


def _generic_abis(data: Mapping[str, Any]) -> list[str]:
    ext_suffix = data.get("ext_suffix")
    if not isinstance(ext_suffix, str) or not ext_suffix.startswith("."):
        return []
    parts = ext_suffix.split(".")
    if len(parts) < 3:
        return []
    soabi = parts[1]
    if soabi.startswith("cpython"):
        pieces = soabi.split("-")
        abi = "cp" + pieces[1] if len(pieces) > 1 else ""
    elif soabi.startswith("cp"):
        abi = soabi.split("-")[0]
    elif soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    else:
        abi = soabi
    return [_normalize(abi)] if abi else []


def _platforms(data: Mapping[str, Any]) -> Iterator[str]:
    system = data.get("platform_system")
    if system == "Darwin" and data.get("mac_version"):
        major, minor = data["mac_version"][:2]
        arch = str(data.get("mac_arch") or "")
        if not data["is_64bit"]:
            arch = "ppc" if arch.startswith("ppc") else "i386"
        return tags.mac_platforms((int(major), int(minor)), arch)
    if system == "Linux":
        return _linux_platforms(data)
    return iter([_normalize(str(data["sysconfig_platform"]))])


def _linux_platforms(data: Mapping[str, Any]) -> Iterator[str]:
    linux = _normalize(str(data["sysconfig_platform"]))
    if not linux.startswith("linux_"):
        yield linux
        return
    if not data["is_64bit"]:
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = ["armv8l", "armv7l"] if arch == "armv8l" else [arch]
    # packaging >= 26.3 order (pypa/packaging#160): a linux_<arch> wheel can only
    # have been built for this machine, so it is the most specific; then manylinux
    # newest first, then musllinux.
    for one in archs:
        yield f"linux_{one}"
    if data.get("glibc") and _have_manylinux_abi(data.get("elf"), archs):
        yield from manylinux_platforms(archs, _parse_glibc(str(data["glibc"])))
    if data.get("musl"):
        musl_major, musl_minor = data["musl"][:2]
        for one in archs:
            for m in range(int(musl_minor), -1, -1):
                yield f"musllinux_{int(musl_major)}_{m}_{one}"


def _parse_glibc(text: str) -> tuple[int, int]:
    head = text.split(".")
    try:
        return int(head[0]), int("".join(c for c in head[1] if c.isdigit()) or "x")
    except (IndexError, ValueError):
        return (-1, -1)


def _have_manylinux_abi(elf: Mapping[str, int] | None, archs: Sequence[str]) -> bool:
    if "armv7l" in archs:
        return (
            elf is not None
            and elf["class"] == _ELF_CLASS32
            and elf["data"] == _ELF_LSB
            and elf["machine"] == _EM_ARM
            and elf["flags"] & _ARM_ABIMASK == _ARM_ABI_VER5
            and elf["flags"] & _ARM_FLOAT_HARD == _ARM_FLOAT_HARD
        )
    if "i686" in archs:
        return (
            elf is not None
            and elf["class"] == _ELF_CLASS32
            and elf["data"] == _ELF_LSB
            and elf["machine"] == _EM_386
        )
    return any(arch in _MANYLINUX_ARCHS for arch in archs)


def manylinux_platforms(archs: Sequence[str], glibc: tuple[int, int]) -> Iterator[str]:
    """manylinux platform tags for a glibc version, newest first (PEP 600 order)."""
    if glibc[0] < 2:
        return
    too_old = (2, 4) if set(archs) & {"x86_64", "i686"} else (2, 16)
    maxima = [glibc] + [(major, _LAST_GLIBC_MINOR) for major in range(glibc[0] - 1, 1, -1)]
    for arch in archs:
        for major, top_minor in maxima:
            low = too_old[1] if major == too_old[0] else -1
            for minor in range(top_minor, low, -1):
                yield f"manylinux_{major}_{minor}_{arch}"
                legacy = _LEGACY_MANYLINUX.get((major, minor))
                if legacy:
                    yield f"{legacy}_{arch}"
