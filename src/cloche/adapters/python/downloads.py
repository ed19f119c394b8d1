"""python-build-standalone builds on a mirror: which release, which archives, their checksums.

A mirror is a base URL (http(s):// or file://) laid out as the project publishes it::

    <mirror>/latest-release.json      {"tag": "20250115", ...}  (other keys ignored)
    <mirror>/<tag>/SHA256SUMS         "<sha256>  <archive name>" per line
    <mirror>/<tag>/<archive name>     the archives SHA256SUMS names, e.g.
        cpython-3.12.8+20250115-x86_64-unknown-linux-gnu-install_only.tar.gz

The public one (GitHub releases) keeps ``latest-release.json`` on a branch of its
own, so the default mirror reads it from there.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from packaging.version import InvalidVersion, Version

from cloche.errors import NetworkError

DEFAULT_MIRROR = "https://github.com/astral-sh/python-build-standalone/releases/download"
_DEFAULT_LATEST = (
    "https://raw.githubusercontent.com/astral-sh/python-build-standalone/"
    "latest-release/latest-release.json"
)
FLAVOUR = "install_only"
_ARCHIVE = re.compile(
    r"^cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)\+(?P<tag>\d+)-"
    r"(?P<triple>[A-Za-z0-9_]+-[a-z]+-[a-z]+(?:-[a-z]+)?)-" + FLAVOUR + r"\.tar\.gz$"
)
_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Build:
    """One archive of a release: the CPython version it holds, for which platform."""

    version: Version
    tag: str
    triple: str
    filename: str
    sha256: str

    @property
    def install_name(self) -> str:
        """The directory it is unpacked to under the managed root."""
        return f"cpython-{self.version}-{self.triple}"


def mirror_url(configured: str | None) -> str:
    return (configured or DEFAULT_MIRROR).rstrip("/")


def platform_triple() -> str:
    """This machine as python-build-standalone names platforms."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "darwin":
        return f"{arch}-apple-darwin"
    if sys.platform == "win32":
        return f"{arch}-pc-windows-msvc"
    libc = "musl" if "musl" in (platform.libc_ver()[0] or "") else "gnu"
    return f"{arch}-unknown-linux-{libc}"


def open_url(url: str) -> IO[bytes]:
    """``url`` opened for reading; one-line NetworkError when the mirror cannot be reached."""
    try:
        response: IO[bytes] = urllib.request.urlopen(url, timeout=_TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise NetworkError(f"cannot fetch {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise NetworkError(
            f"cannot reach the Python mirror at {url}: {reason}",
            hint="set CLOCHE_PYTHON_MIRROR (or python-mirror in cloche.toml) to a mirror "
            "you can reach",
        ) from None
    return response


def _read(url: str) -> bytes:
    with open_url(url) as response:
        return response.read()


def latest_tag(mirror: str) -> str:
    """The newest release the mirror has, from its ``latest-release.json``."""
    url = _DEFAULT_LATEST if mirror == DEFAULT_MIRROR else f"{mirror}/latest-release.json"
    try:
        tag = json.loads(_read(url))["tag"]
    except (ValueError, KeyError, TypeError):
        raise NetworkError(f'{url} is not a latest-release.json (no "tag")') from None
    return str(tag)


def parse_sums(text: str) -> dict[str, str]:
    """``SHA256SUMS`` lines as {archive name: sha256}."""
    sums: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def builds_in(sums: dict[str, str], triple: str) -> list[Build]:
    """The install_only CPython archives for ``triple`` among ``sums``, newest first."""
    found = []
    for filename, digest in sums.items():
        match = _ARCHIVE.match(filename)
        if match is None or match.group("triple") != triple:
            continue
        try:
            version = Version(match.group("version"))
        except InvalidVersion:
            continue
        found.append(Build(version, match.group("tag"), triple, filename, digest))
    return sorted(found, key=lambda b: b.version, reverse=True)


def release_builds(mirror: str, tag: str, triple: str | None = None) -> list[Build]:
    """Every build for this platform in release ``tag`` of ``mirror``, newest first."""
    text = _read(f"{mirror}/{tag}/SHA256SUMS").decode("utf-8", "replace")
    return builds_in(parse_sums(text), triple or platform_triple())


def archive_url(mirror: str, build: Build) -> str:
    return f"{mirror}/{build.tag}/{urllib.parse.quote(build.filename)}"


def versions_text(builds: Iterable[Build]) -> str:
    return ", ".join(str(b.version) for b in builds) or "none for this platform"
