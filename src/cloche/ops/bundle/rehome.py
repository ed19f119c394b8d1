"""A lock whose files come from a bundle: each wheel and sdist's URL replaced by the
bundle's copy (``<bundle>/wheels/<filename>``), a local directory or an http(s) URL.

The hashes stay the lock's, so a bundle's file is checked like any download, and the
lock's own URLs (the index) are never contacted.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote, unquote, urlsplit

from cloche.errors import UsageError
from cloche.ops.bundle.write import WHEELS

if TYPE_CHECKING:
    from packaging.pylock import Package, PackageSdist, PackageWheel, Pylock

_File = TypeVar("_File", "PackageWheel", "PackageSdist")


def is_url(bundle: str) -> bool:
    return bundle.lower().startswith(("http://", "https://"))


def bundle_files_url(bundle: str) -> str:
    """The URL of the bundle's ``wheels/`` folder, ending in a slash."""
    if is_url(bundle):
        return bundle.rstrip("/") + f"/{WHEELS}/"
    path = Path(bundle)
    if not path.is_absolute():
        raise UsageError(f"a bundle path must be absolute, got {bundle!r}")
    return (path / WHEELS).as_uri() + "/"


def lock_from_bundle(lock: Pylock, bundle: str) -> Pylock:
    """``lock`` with every wheel and sdist taken from ``bundle``."""
    base = bundle_files_url(bundle)
    return replace(lock, packages=[_rehomed(p, base) for p in lock.packages])


def _rehomed(package: Package, base: str) -> Package:
    wheels = None if package.wheels is None else [_moved(w, base) for w in package.wheels]
    sdist = None if package.sdist is None else _moved(package.sdist, base)
    return replace(package, wheels=wheels, sdist=sdist)


def _moved(file: _File, base: str) -> _File:
    location = file.url or file.path
    filename = file.name or (
        unquote(urlsplit(location).path.rsplit("/", 1)[-1]) if location else None
    )
    if not filename:
        return file
    return replace(file, name=filename, url=base + quote(filename), path=None)
