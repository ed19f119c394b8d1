"""pip's requirements-file format: includes, option lines, requirement lines.

Every line is either honoured or reported as an error naming ``file:line``;
nothing is silently dropped.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath

from cloche.core.models import UserRequirement
from cloche.core.requirements.line import (
    UnnamedReference,
    UnnamedRequirement,
    is_url,
    parse_requirement,
)
from cloche.core.requirements.options import apply_format, parse_hash, parse_options
from cloche.errors import RequirementError

__all__ = [
    "RequirementsFile",
    "logical_lines",
    "merge",
    "parse_requirement",
    "parse_requirements_file",
]

_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
# pip's rule: "#" starts a comment only at the line start or after whitespace,
# so URL fragments such as "#egg=" or "#sha256=" survive.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_OPTIONS_START = re.compile(r"(?:^|\s)-")


@dataclass(frozen=True, slots=True)
class RequirementsFile:
    """Everything one requirements file (with its includes) asks for."""

    requirements: tuple[UserRequirement, ...] = ()
    constraints: tuple[UserRequirement, ...] = ()
    """From ``-c`` includes, or every line of a file parsed with ``constraint=True``."""
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    """URLs as written; local paths made absolute against the file's directory."""
    no_index: bool = False
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    """Normalized names, or {":all:"}."""
    no_binary: frozenset[str] = frozenset()
    require_hashes: bool = False
    sources: tuple[Path, ...] = ()
    """Every file read, resolved, in the order first read."""
    unnamed: tuple[UnnamedReference, ...] = ()
    """URLs and paths written without ``name @``: named later from their metadata."""


@dataclass(frozen=True, slots=True)
class _Source:
    """One requirements or constraints file being read."""

    path: Path
    shown: str
    """The path as the user would recognise it, for origins and messages."""
    constraint: bool


@dataclass(slots=True)
class _Collector:
    """Requirements, constraints and options gathered across nested files."""

    environ: Mapping[str, str]
    requirements: list[UserRequirement] = field(default_factory=list)
    constraints: list[UserRequirement] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    pre: bool = False
    require_hashes: bool = False
    only_binary: set[str] = field(default_factory=set)
    no_binary: set[str] = field(default_factory=set)
    sources: list[Path] = field(default_factory=list)
    unnamed: list[UnnamedReference] = field(default_factory=list)
    reading: list[tuple[Path, str]] = field(default_factory=list)

    def read(self, source: _Source, where: str | None) -> None:
        resolved = source.path.resolve()
        if any(path == resolved for path, _shown in self.reading):
            cycle = " -> ".join([*(shown for _path, shown in self.reading), source.shown])
            raise RequirementError(f"{where}: requirements files include each other: {cycle}")
        text = _read_text(source, where)
        if resolved not in self.sources:
            self.sources.append(resolved)
        self.reading.append((resolved, source.shown))
        for number, line in logical_lines(text):
            self._line(_expand(line, self.environ), source, f"{source.shown}:{number}")
        self.reading.pop()

    def _line(self, line: str, source: _Source, origin: str) -> None:
        match = _OPTIONS_START.search(line)
        cut = match.end() - 1 if match else len(line)
        text, options = line[:cut].strip(), parse_options(line[cut:], origin)
        if not text:
            for name, value in options:
                self._option(name, value, source, origin)
            return
        hashes: list[tuple[str, str]] = []
        for name, value in options:
            if name != "--hash" or value is None:
                raise RequirementError(
                    f"{origin}: option {name} must be on its own line, not after a requirement"
                )
            hashes.append(parse_hash(value, origin))
        try:
            req = parse_requirement(text, origin, base_dir=source.path.parent)
        except UnnamedRequirement as exc:
            self._add_unnamed(replace(exc.reference, hashes=tuple(hashes)), source)
            return
        self._add(UserRequirement(req.requirement, origin, hashes=tuple(hashes)), source, origin)

    def _add_unnamed(self, reference: UnnamedReference, source: _Source) -> None:
        if source.constraint:  # as pip: a constraint must name what it constrains
            raise reference.refusal()
        self.unnamed.append(reference)

    def _add(self, req: UserRequirement, source: _Source, origin: str) -> None:
        if not source.constraint:
            self.requirements.append(req)
            return
        if req.editable:
            raise RequirementError(f"{origin}: a constraint cannot be editable")
        if req.requirement.extras:
            raise RequirementError(f"{origin}: a constraint cannot have extras")
        self.constraints.append(req)

    def _option(self, name: str, value: str | None, source: _Source, origin: str) -> None:
        if value is None:
            self._flag(name)
        elif name in ("--requirement", "--constraint"):
            if is_url(value):
                raise RequirementError(
                    f"{origin}: cloche reads requirements files from local paths only: {value}"
                )
            child = _Source(
                path=source.path.parent / value,
                shown=_join_shown(source.shown, value),
                constraint=source.constraint or name == "--constraint",
            )
            self.read(child, origin)
        elif name == "--editable":
            try:
                req = parse_requirement(value, origin, base_dir=source.path.parent, editable=True)
            except UnnamedRequirement as exc:
                self._add_unnamed(exc.reference, source)
                return
            self._add(req, source, origin)
        elif name == "--index-url":
            self.index_url = value
        elif name == "--extra-index-url":
            self.extra_index_urls.append(value)
        elif name == "--find-links":
            self.find_links.append(_find_links_location(value, source.path.parent))
        elif name == "--only-binary":
            apply_format(self.only_binary, self.no_binary, value.split(","), origin)
        elif name == "--no-binary":
            apply_format(self.no_binary, self.only_binary, value.split(","), origin)
        else:  # --hash
            raise RequirementError(f"{origin}: --hash must follow a requirement on the same line")

    def _flag(self, name: str) -> None:
        if name == "--no-index":
            self.no_index = True
        elif name == "--pre":
            self.pre = True
        elif name == "--require-hashes":
            self.require_hashes = True
        # --prefer-binary: cloche already prefers a wheel of the chosen version.

    def absorb(self, other: RequirementsFile) -> None:
        self.requirements.extend(other.requirements)
        self.constraints.extend(other.constraints)
        self.unnamed.extend(other.unnamed)
        self.index_url = other.index_url or self.index_url
        self.extra_index_urls.extend(other.extra_index_urls)
        self.find_links.extend(other.find_links)
        self.no_index |= other.no_index
        self.pre |= other.pre
        self.require_hashes |= other.require_hashes
        formats = (
            (self.only_binary, self.no_binary, other.only_binary),
            (self.no_binary, self.only_binary, other.no_binary),
        )
        # Within one file ":all:" came first (it clears the other set), so replay it first.
        for target, opposite, values in formats:
            if ":all:" in values:
                apply_format(target, opposite, [":all:"], "merge")
        for target, opposite, values in formats:
            apply_format(target, opposite, sorted(values - {":all:"}), "merge")
        self.sources.extend(p for p in other.sources if p not in self.sources)

    def result(self) -> RequirementsFile:
        return RequirementsFile(
            requirements=tuple(self.requirements),
            constraints=tuple(self.constraints),
            index_url=self.index_url,
            extra_index_urls=tuple(dict.fromkeys(self.extra_index_urls)),
            find_links=tuple(dict.fromkeys(self.find_links)),
            no_index=self.no_index,
            pre=self.pre,
            only_binary=frozenset(self.only_binary),
            no_binary=frozenset(self.no_binary),
            require_hashes=self.require_hashes,
            sources=tuple(self.sources),
            unnamed=tuple(self.unnamed),
        )


def parse_requirements_file(
    path: Path, *, environ: Mapping[str, str] | None = None, constraint: bool = False
) -> RequirementsFile:
    """Read a requirements file and its includes; ``constraint=True`` reads it as ``-c`` would."""
    collector = _Collector(environ=os.environ if environ is None else environ)
    collector.read(_Source(path=path, shown=_shown(path), constraint=constraint), None)
    return collector.result()


def binary_choices(
    only_binary: Sequence[str], no_binary: Sequence[str], origin: str = "command line"
) -> RequirementsFile:
    """``--only-binary``/``--no-binary`` values given outside a file, as a file holding
    only them (each value is comma-separated names, ``:all:`` or ``:none:``)."""
    only: set[str] = set()
    never: set[str] = set()
    for value in no_binary:
        apply_format(never, only, value.split(","), origin)
    for value in only_binary:
        apply_format(only, never, value.split(","), origin)
    return RequirementsFile(only_binary=frozenset(only), no_binary=frozenset(never))


def merge(files: Sequence[RequirementsFile]) -> RequirementsFile:
    """Combine files as if read one after another (later index URLs win)."""
    collector = _Collector(environ={})
    for one in files:
        collector.absorb(one)
    return collector.result()


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each non-blank line, continuations joined, comments cut."""
    parts: list[str] = []
    first = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            first = number
        is_comment = _COMMENT.match(raw) is not None
        if raw.endswith("\\") and not is_comment:
            parts.append(raw[:-1])
            continue
        # A comment line ends a continuation; the space keeps it a comment once joined.
        parts.append(" " + raw if is_comment else raw)
        line = _COMMENT.sub("", "".join(parts)).strip()
        parts = []
        if line:
            yield first, line
    line = _COMMENT.sub("", "".join(parts)).strip()
    if line:
        yield first, line


def _expand(line: str, environ: Mapping[str, str]) -> str:
    return _ENV_VAR.sub(lambda m: environ.get(m.group(1), m.group(0)), line)


def _find_links_location(value: str, base_dir: Path) -> str:
    if is_url(value):
        return value
    return str((base_dir / Path(value).expanduser()).resolve())


def _shown(path: Path) -> str:
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return str(path)


def _join_shown(parent: str, value: str) -> str:
    if PurePath(value).is_absolute():
        return value
    return os.path.normpath(PurePath(parent).parent / value)


MAX_FILE_SIZE = 16 << 20
"""A requirements file larger than this is refused (``-r /dev/zero`` must not eat memory)."""


PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
"""Project files that stand where a requirements file goes (``ops.project_sources``)."""


def is_project_file(path: Path) -> bool:
    return path.name in PROJECT_FILES


STDIN = Path("-")
"""``-`` as a file name: standard input (``cloche pip compile -``, ``-r -``)."""


def _read_text(source: _Source, where: str | None) -> str:
    prefix = f"{where}: " if where else ""
    try:
        if source.path == STDIN:
            data = sys.stdin.buffer.read(MAX_FILE_SIZE + 1)
        else:
            with source.path.open("rb") as fh:
                data = fh.read(MAX_FILE_SIZE + 1)
        if len(data) > MAX_FILE_SIZE:
            raise RequirementError(
                f"{prefix}{source.shown} is larger than {MAX_FILE_SIZE >> 20} MB; "
                "that is not a requirements file"
            )
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        raise RequirementError(f"{prefix}requirements file not found: {source.shown}") from None
    except IsADirectoryError:
        raise RequirementError(
            f"{prefix}{source.shown} is a directory, not a requirements file"
        ) from None
    except UnicodeDecodeError:
        raise RequirementError(f"{prefix}{source.shown} is not UTF-8 text") from None
    except OSError as exc:
        raise RequirementError(f"{prefix}cannot read {source.shown}: {exc.strerror}") from None
