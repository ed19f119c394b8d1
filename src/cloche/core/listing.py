"""One project's files as an index lists them, grouped by version and built lazily.

A large project page lists thousands of files, and a resolve looks at a handful of
versions: building every DistFile up front was most of the cost of reading a page.
Within a version, judging which file to install needs only its filenames and, for the
few whose tags fit, a few facts (``FileFacts``): a ``FileGroup`` builds a file when it is
read, not when it is listed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from cloche.core.models import DistFile, NormalizedName

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

BuildGroup = Callable[["Version", Sequence[Any]], Sequence[DistFile]]
"""A version and its raw entries -> its files (entries that are not files are dropped);
a ``FileGroup`` to build them only when read."""

FileFacts = tuple["SpecifierSet | None", bool]
"""What judging a file for a target needs besides its filename: its Requires-Python and
whether it is yanked (the same values its DistFile will have)."""


def _as_files(version: Version, items: Sequence[Any]) -> Sequence[DistFile]:
    return items


class FileGroup(Sequence[DistFile]):
    """One version's files, file ``i`` built by ``build(i)`` when first read (once, and
    the same object for every reader; thread-safe).

    Known without building file ``i``: ``filenames[i]``, ``facts(i)`` (its ``FileFacts``)
    and ``sha256(i)`` (default: read from the built file). Compares equal to a tuple of
    the same files.
    """

    __slots__ = ("_build", "_facts", "_files", "_sha256", "filenames")

    _publish = threading.Lock()
    """Guards only the store of a built file: building runs outside it."""

    def __init__(
        self,
        filenames: Sequence[str],
        facts: Callable[[int], FileFacts],
        build: Callable[[int], DistFile],
        sha256: Callable[[int], str | None] | None = None,
    ) -> None:
        self.filenames = filenames
        self._facts = facts
        self._build = build
        self._files: list[DistFile | None] = [None] * len(filenames)
        self._sha256 = sha256

    @classmethod
    def of(cls, files: Sequence[DistFile]) -> FileGroup:
        """A group of files already built."""
        built = tuple(files)
        group = cls([f.filename for f in built], _BuiltFacts(built), built.__getitem__)
        group._files[:] = built
        return group

    def facts(self, at: int) -> FileFacts:
        """File ``at``'s Requires-Python and whether it is yanked."""
        return self._facts(at)

    def file(self, at: int) -> DistFile:
        """File ``at`` (built now if no one read it before)."""
        made = self._files[at]
        if made is None:
            built = self._build(at)
            with self._publish:
                made = self._files[at]
                if made is None:
                    made = self._files[at] = built
        return made

    def sha256(self, at: int) -> str | None:
        return self._sha256(at) if self._sha256 is not None else self.file(at).sha256

    def _all(self) -> tuple[DistFile, ...]:
        return tuple(self.file(at) for at in range(len(self._files)))

    def __len__(self) -> int:
        return len(self._files)

    @overload
    def __getitem__(self, index: int) -> DistFile: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[DistFile]: ...

    def __getitem__(self, index: int | slice) -> DistFile | Sequence[DistFile]:
        if isinstance(index, slice):
            return self._all()[index]
        if index < 0:
            index += len(self._files)
        if not 0 <= index < len(self._files):
            raise IndexError(index)
        return self.file(index)

    def __iter__(self) -> Iterator[DistFile]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileGroup):
            return self is other or self._all() == other._all()
        if isinstance(other, tuple):
            return self._all() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"FileGroup({list(self.filenames)!r})"


class _BuiltFacts:
    """``FileGroup.facts`` of files already built."""

    __slots__ = ("_files",)

    def __init__(self, files: tuple[DistFile, ...]) -> None:
        self._files = files

    def __call__(self, at: int) -> FileFacts:
        file = self._files[at]
        return file.requires_python, file.yanked is not None


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
        self._built: dict[Version, FileGroup] = {}
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

    def group(self, version: Version) -> FileGroup:
        """The files of one listed version (each built when read)."""
        with self._lock:
            built = self._built.get(version)
        if built is None:
            made = self._build(version, self._raw[version])
            built = made if isinstance(made, FileGroup) else FileGroup.of(made)
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
