"""Which stored files each index listed, by project name: pinned installs skip the index.

Layout under the cache root::

    origins-v1/<index key>/<name>/<filename>    {"sha256", "url", "requires_python", "size"}

An entry is written once a wheel an index listed (with its sha256) is unpacked into
the store, or found there, and once an sdist it listed is built and the build kept.
An install whose every requirement is an exact pin reads these instead of the index
pages, as uv does with its cached registry wheels. An entry whose wheel or build has
left the store is simply not used (``cache prune`` drops those of unpacked wheels).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from cloche.core.models import DistFile, NormalizedName, parse_dist_filename

ORIGINS = "origins-v1"
_FORMAT = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def index_key(index: str) -> str:
    """Directory name for one index URL (without credentials); a trailing slash is ignored."""
    return hashlib.sha256(index.rstrip("/").encode()).hexdigest()[:24]


class IndexOrigins:
    """The ``origins-v1`` bucket of one cache root."""

    def __init__(self, root: Path) -> None:
        self.root = root / ORIGINS

    def _dir(self, index: str, name: str) -> Path:
        return self.root / index_key(index) / name

    def note(self, file: DistFile) -> None:
        """Remember that ``file.index`` listed ``file`` (a stored wheel, or a built sdist).

        Best effort: a cache that cannot be written only loses the shortcut.
        """
        sha256 = file.sha256
        if not sha256 or "/" in file.filename or parse_dist_filename(file.filename) is None:
            return
        directory = self._dir(file.index, file.name)
        entry = directory / file.filename
        known = _read_entry(entry, file.filename, file.version, file.index, file.name)
        if known is not None and known.sha256 == sha256:
            return  # else the index now serves other bytes under this name: record those
        data = {
            "format": _FORMAT,
            "sha256": sha256,
            "url": file.url,
            "requires_python": str(file.requires_python) if file.requires_python else None,
            "size": file.size,
        }
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                Path(tmp).replace(entry)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return

    def listed(
        self, index: str, name: NormalizedName, accept: Callable[[Version], bool]
    ) -> list[DistFile]:
        """Files of ``name`` from ``index`` whose version ``accept`` allows."""
        directory = self._dir(index, name)
        try:
            # A plain listdir: this runs once per pinned package on every warm install.
            filenames = os.listdir(directory)  # noqa: PTH208
        except OSError:
            return []
        out = []
        for filename in filenames:
            parsed = parse_dist_filename(filename)
            if parsed is None or parsed[0] != name or not accept(parsed[1]):
                continue
            file = _read_entry(directory / filename, filename, parsed[1], index, name)
            if file is not None:
                out.append(file)
        return out

    def package_dirs(self, name: NormalizedName) -> list[Path]:
        """Every index's directory of ``name`` (for ``cache clean NAME`` to remove)."""
        try:
            keys = list(self.root.iterdir())
        except OSError:
            return []
        return [d for key in keys if (d := key / name).is_dir()]

    def count(self) -> int:
        """How many entries there are (for ``cache info``)."""
        return sum(len(files) for _dir, _dirs, files in os.walk(self.root))

    def entries(self) -> list[tuple[Path, str]]:
        """Every entry with the sha256 it names (for ``cache prune``); unreadable ones as ""."""
        out = []
        for directory, _dirs, files in os.walk(self.root):
            for filename in files:
                path = Path(directory, filename)
                if filename.startswith(".tmp-"):
                    out.append((path, ""))
                    continue
                try:
                    sha256 = json.loads(path.read_bytes()).get("sha256", "")
                except (OSError, ValueError, AttributeError):
                    sha256 = ""
                out.append((path, sha256 if isinstance(sha256, str) else ""))
        return out


def _read_entry(
    path: Path, filename: str, version: Version, index: str, name: NormalizedName
) -> DistFile | None:
    try:
        data = json.loads(path.read_bytes())
        sha256, url = data["sha256"], data["url"]
        python = data.get("requires_python")
        size = data.get("size")
        if data.get("format") != _FORMAT or not isinstance(url, str):
            return None
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            return None
        requires_python = SpecifierSet(python) if isinstance(python, str) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, InvalidSpecifier):
        return None
    return DistFile(
        name=name,
        version=version,
        filename=filename,
        url=url,
        index=index,
        hashes=(("sha256", sha256),),
        requires_python=requires_python,
        size=size if isinstance(size, int) else None,
    )
