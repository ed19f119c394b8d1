"""One project's files as an index lists them, grouped by version and built lazily.

A large project page lists thousands of files, and a resolve looks at a handful of
versions: building every DistFile up front was most of the cost of reading a page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from cloche.core.models import DistFile, NormalizedName

if TYPE_CHECKING:
    from packaging.version import Version

BuildGroup = Callable[["Version", Sequence[Any]], Sequence[DistFile]]
"""A version and its raw entries -> its files (entries that are not files are dropped)."""


def _as_files(version: Version, items: Sequence[Any]) -> Sequence[DistFile]:
    return items


class FileListing(Sequence[DistFile]):
    """The files of ``name`` by version; a version's files are built when first asked for.

    As a sequence it holds every file, version by version in first-listed order.
    Thread-safe.
    """

    def __init__(
        self,
        name: NormalizedName,
        groups: dict[Version, list[Any]],
        build: BuildGroup = _as_files,
        *,
        in_preference_order: bool = False,
    ) -> None:
        self.name = name
        self.in_preference_order = in_preference_order
        """The versions are listed in the order to try them (``unsafe-first-match``:
        index by index); otherwise the resolver tries the newest first."""
        self._raw = groups
        self._build = build
        self._built: dict[Version, tuple[DistFile, ...]] = {}
        self._lock = threading.Lock()
        self._flat: tuple[DistFile, ...] | None = None

    @classmethod
    def of(
        cls, name: NormalizedName, files: Sequence[DistFile], *, in_preference_order: bool = False
    ) -> FileListing:
        """A listing of files already built (those of other projects left out)."""
        groups: dict[Version, list[Any]] = {}
        for file in files:
            if file.name == name:
                groups.setdefault(file.version, []).append(file)
        return cls(name, groups, in_preference_order=in_preference_order)

    def versions(self) -> list[Version]:
        """Every listed version, in first-listed order."""
        return list(self._raw)

    def group(self, version: Version) -> tuple[DistFile, ...]:
        """The files of one listed version."""
        with self._lock:
            built = self._built.get(version)
        if built is None:
            built = tuple(self._build(version, self._raw[version]))
            with self._lock:
                built = self._built.setdefault(version, built)
        return built

    def _all(self) -> tuple[DistFile, ...]:
        flat = self._flat
        if flat is None:
            flat = self._flat = tuple(f for v in self._raw for f in self.group(v))
        return flat

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> DistFile: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[DistFile]: ...

    def __getitem__(self, index: int | slice) -> DistFile | Sequence[DistFile]:
        return self._all()[index]

    def __iter__(self) -> Iterator[DistFile]:
        return iter(self._all())

    def __repr__(self) -> str:
        return f"FileListing({self.name!r}, {len(self._raw)} versions)"
