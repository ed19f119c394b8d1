"""pip's requirements-file format: includes, option lines, requirement lines.

Every line is either honoured or reported as an error naming ``file:line``;
nothing is silently dropped.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from urllib.parse import parse_qs, unquote, urlsplit
from urllib.request import url2pathname

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from cloche.core.models import UserRequirement, parse_dist_filename
from cloche.errors import RequirementError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
# pip's rule: "#" starts a comment only at the line start or after whitespace,
# so URL fragments such as "#egg=" or "#sha256=" survive.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_OPTIONS_START = re.compile(r"(?:^|\s)-")
_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_NAME_AT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_EXTRAS_SUFFIX = re.compile(r"^(.*?)\s*(\[[^\]]*\])$")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip")
_HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_TAKES_VALUE = {
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-e": "--editable",
    "--editable": "--editable",
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--only-binary": "--only-binary",
    "--no-binary": "--no-binary",
    "--hash": "--hash",
}
_FLAGS = frozenset({"--no-index", "--pre", "--prefer-binary", "--require-hashes"})
_UNSUPPORTED = {
    "--trusted-host": "cloche has no trusted-host setting; use an https index URL",
    "--config-settings": "pass build settings on the command line instead",
    "--global-option": "it is deprecated in pip and has no cloche equivalent",
    "--install-option": "it was removed from pip and has no cloche equivalent",
    "--use-feature": "cloche has no pip feature flags",
}


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


@dataclass(frozen=True, slots=True)
class _Source:
    path: Path
    shown: str
    """The path as the user would recognise it, for origins and messages."""
    constraint: bool


@dataclass(slots=True)
class _Collector:
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
    reading: list[tuple[Path, str]] = field(default_factory=list)

    def read(self, source: _Source, where: str | None) -> None:
        resolved = source.path.resolve()
        chain = [shown for path, shown in self.reading if path == resolved] and [
            shown for _path, shown in self.reading
        ]
        if chain:
            cycle = " -> ".join([*chain, source.shown])
            raise RequirementError(f"{where}: requirements files include each other: {cycle}")
        text = _read_text(source, where)
        if resolved not in self.sources:
            self.sources.append(resolved)
        self.reading.append((resolved, source.shown))
        for number, line in _logical_lines(text):
            line = _COMMENT.sub("", line).strip()
            if line:
                self._line(_expand(line, self.environ), source, f"{source.shown}:{number}")
        self.reading.pop()

    def _line(self, line: str, source: _Source, origin: str) -> None:
        match = _OPTIONS_START.search(line)
        cut = match.end() - 1 if match else len(line)
        text, options = line[:cut].strip(), _parse_options(line[cut:], origin)
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
            hashes.append(_parse_hash(value, origin))
        req = parse_requirement(text, origin, base_dir=source.path.parent)
        self._add(UserRequirement(req.requirement, origin, hashes=tuple(hashes)), source, origin)

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
            if _URL.match(value):
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
            req = parse_requirement(value, origin, base_dir=source.path.parent, editable=True)
            self._add(req, source, origin)
        elif name == "--index-url":
            self.index_url = value
        elif name == "--extra-index-url":
            self.extra_index_urls.append(value)
        elif name == "--find-links":
            self.find_links.append(_find_links_location(value, source.path.parent))
        elif name == "--only-binary":
            _apply_format(self.only_binary, self.no_binary, value.split(","), origin)
        elif name == "--no-binary":
            _apply_format(self.no_binary, self.only_binary, value.split(","), origin)
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
        self.index_url = other.index_url or self.index_url
        self.extra_index_urls.extend(other.extra_index_urls)
        self.find_links.extend(other.find_links)
        self.no_index |= other.no_index
        self.pre |= other.pre
        self.require_hashes |= other.require_hashes
        _apply_format(self.no_binary, self.only_binary, sorted(other.no_binary), "merge")
        _apply_format(self.only_binary, self.no_binary, sorted(other.only_binary), "merge")
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
        )


def parse_requirements_file(
    path: Path, *, environ: Mapping[str, str] | None = None, constraint: bool = False
) -> RequirementsFile:
    """Read a requirements file and its includes; ``constraint=True`` reads it as ``-c`` would."""
    collector = _Collector(environ=os.environ if environ is None else environ)
    collector.read(_Source(path=path, shown=_shown(path), constraint=constraint), None)
    return collector.result()


def merge(files: Sequence[RequirementsFile]) -> RequirementsFile:
    """Combine files as if read one after another (later index URLs win)."""
    collector = _Collector(environ={})
    for one in files:
        collector.absorb(one)
    return collector.result()


def parse_requirement(
    text: str, origin: str, *, base_dir: Path | None = None, editable: bool = False
) -> UserRequirement:
    """One requirement as typed on a command line or a file line (without options).

    Accepts PEP 508 strings, ``name @ url``, plain archive or VCS URLs and
    local paths; URLs and paths become ``name @ url`` with paths made absolute
    ``file://`` URLs against ``base_dir`` (default: the working directory).
    """
    text = text.strip()
    if not text:
        raise RequirementError(f"{origin}: empty requirement")
    base = Path.cwd() if base_dir is None else base_dir
    if _NAME_AT.match(text):
        req = _pep508(text, origin)
        assert req.url is not None
        url = req.url
        if not _SCHEME.match(url) or url.lower().startswith("file:"):
            url = _local_url(url, base, origin, editable, named=True)[1]
        elif editable and not url.lower().startswith(_VCS_PREFIXES):
            raise _not_editable(text, origin)
        marker = str(req.marker) if req.marker else ""
        req = _pep508(_requirement_text(req.name, sorted(req.extras), url, marker), origin)
        return UserRequirement(req, origin, editable=editable)
    if _URL.match(text) or text.lower().startswith(_VCS_PREFIXES):
        location, _sep, marker = (part.strip() for part in re.split(r"(;\s)", text, maxsplit=1) + ["", ""])[:3]  # noqa: E501
        return _from_location(location, marker, base, origin, editable)
    head = text.split(";", 1)[0].strip()
    if _looks_like_path(head) or text.lower().startswith("file:"):
        location, _sep, marker = text.partition(";")
        return _from_location(location.strip(), marker.strip(), base, origin, editable)
    if editable:
        raise _not_editable(text, origin)
    return UserRequirement(_pep508(text, origin), origin)
