"""The script run inside a target interpreter to describe it (see ``cache``).

It must run on any CPython/PyPy >= 3.8 with nothing installed, and must at least
parse and report its version on older Pythons (2.7 included), so it avoids
f-strings and every newer syntax. It prints one JSON object on its last line.
"""

from __future__ import annotations

PROBE_SCRIPT = r"""
import sys
sys.path = [p for p in sys.path if p not in ("", ".")]
import json, os, platform, sysconfig


def glibc_version():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").rsplit()[1]
    except (AttributeError, OSError, ValueError, IndexError):
        pass
    try:
        import ctypes
        func = ctypes.CDLL(None).gnu_get_libc_version
        func.restype = ctypes.c_char_p
        value = func()
        return value.decode("ascii") if isinstance(value, bytes) else value
    except Exception:
        return None


def musl_version():
    import glob, re, subprocess
    for loader in sorted(glob.glob("/lib/ld-musl-*.so.1")):
        try:
            proc = subprocess.run([loader], stderr=subprocess.PIPE, universal_newlines=True)
        except OSError:
            continue
        match = re.search(r"Version (\d+)\.(\d+)", proc.stderr)
        if match:
            return [int(match.group(1)), int(match.group(2))]
    return None


def elf_header(path):
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if head[:4] != b"\x7fELF" or len(head) < 52:
        return None
    import struct
    order = "<" if head[5] == 1 else ">"
    machine = struct.unpack(order + "H", head[18:20])[0]
    flags_at = 36 if head[4] == 1 else 48
    flags = struct.unpack(order + "I", head[flags_at:flags_at + 4])[0]
    return {"class": head[4], "data": head[5], "machine": machine, "flags": flags}


def mac_version():
    release = platform.mac_ver()[0]
    if release.startswith("10.16"):
        import subprocess
        env = dict(os.environ, SYSTEM_VERSION_COMPAT="0")
        release = subprocess.run(
            [sys.executable, "-sS", "-c", "import platform; print(platform.mac_ver()[0])"],
            stdout=subprocess.PIPE, universal_newlines=True, env=env,
        ).stdout.strip()
    return [int(part) for part in release.split(".")[:2]]


def base_executable():
    if sys.prefix == sys.base_prefix:
        return os.path.realpath(sys.executable)
    real = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
    if not real.startswith(os.path.realpath(sys.prefix) + os.sep):
        return real
    home = None
    try:
        with open(os.path.join(sys.prefix, "pyvenv.cfg")) as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip().lower() == "home":
                    home = value.strip()
    except OSError:
        pass
    if home:
        names = ["python%d.%d" % sys.version_info[:2], "python%d" % sys.version_info[0], "python"]
        for name in names:
            candidate = os.path.join(home, name)
            if os.path.isfile(candidate):
                return os.path.realpath(candidate)
    return real


def venv_scheme():
    names = sysconfig.get_scheme_names()
    if "venv" in names:
        return "venv"
    return "nt" if os.name == "nt" else "posix_prefix"


def info_implementation_version():
    info = sys.implementation.version
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def main():
    vi = sys.version_info
    out = {"version_info": [vi[0], vi[1], vi[2], vi[3], vi[4]]}
    if vi < (3, 8):
        return out
    own_keys = ("purelib", "platlib", "scripts", "include", "data")
    paths = sysconfig.get_paths()
    placeholders = {
        "base": "@VENV@", "platbase": "@VENV@",
        "installed_base": "@BASE@", "installed_platbase": "@BASE@",
    }
    venv_paths = sysconfig.get_paths(scheme=venv_scheme(), vars=placeholders)
    config = sysconfig.get_config_var
    system = platform.system()
    out.update({
        "implementation": sys.implementation.name,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "base_executable": base_executable(),
        "paths": dict((k, paths[k]) for k in own_keys),
        "venv_paths": dict((k, venv_paths[k]) for k in own_keys),
        "stdlib": paths["stdlib"],
        "os_name": os.name,
        "sys_platform": sys.platform,
        "platform_system": system,
        "is_64bit": sys.maxsize > 2 ** 32,
        "markers": {
            "implementation_name": sys.implementation.name,
            "implementation_version": info_implementation_version(),
            "os_name": os.name,
            "platform_machine": platform.machine(),
            "platform_release": platform.release(),
            "platform_system": system,
            "platform_version": platform.version(),
            "python_full_version": platform.python_version(),
            "platform_python_implementation": platform.python_implementation(),
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "sys_platform": sys.platform,
        },
        "sysconfig_platform": sysconfig.get_platform(),
        "py_version_nodot": config("py_version_nodot"),
        "abiflags": getattr(sys, "abiflags", ""),
        "soabi": config("SOABI"),
        "ext_suffix": config("EXT_SUFFIX"),
        "py_debug": config("Py_DEBUG"),
        "has_refcount": hasattr(sys, "gettotalrefcount"),
        "has_debug_pyd": False,
        "gil_disabled": bool(config("Py_GIL_DISABLED")),
        "glibc": None,
        "musl": None,
        "elf": None,
        "mac_version": None,
        "mac_arch": None,
    })
    try:
        import importlib.machinery
        out["has_debug_pyd"] = "_d.pyd" in importlib.machinery.EXTENSION_SUFFIXES
    except ImportError:
        pass
    if system == "Linux":
        out["glibc"] = glibc_version()
        if out["glibc"] is None:
            out["musl"] = musl_version()
        out["elf"] = elf_header(os.path.realpath(sys.executable))
    elif system == "Darwin":
        out["mac_version"] = mac_version()
        out["mac_arch"] = platform.mac_ver()[2]
    return out


sys.stdout.write("\n" + json.dumps(main()) + "\n")
"""
