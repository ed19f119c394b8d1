"""One requirement as a user types it: PEP 508, ``name @ url``, a plain URL or a local path.

URLs and paths are named (``#egg=``, wheel/sdist filename, or the project's
own metadata) and become ``name @ url`` requirements; paths become absolute
``file://`` URLs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import parse_qs, unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement

from cloche.core.models import Hashes, UserRequirement, parse_dist_filename
from cloche.errors import RequirementError

# Patterns of rare lines are texts, compiled (through re's cache) only when used.
_NAME = r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$"
_NAME_AT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_SCHEME = r"^[A-Za-z][A-Za-z0-9+.-]*:"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_EXTRAS_SUFFIX = r"^(.*?)\s*(\[[^\]]*\])$"
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip")


def is_project_name(text: str) -> bool:
    """Whether ``text`` is a valid PEP 508 project name."""
    return re.match(_NAME, text) is not None


def is_url(text: str) -> bool:
    """Whether ``text`` starts with ``scheme://``."""
    return _URL.match(text) is not None


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
        url = req.url or ""
        if not re.match(_SCHEME, url) or url.lower().startswith("file:"):
            url = _local_path(url, base, origin, editable).as_uri()
        elif editable and not url.lower().startswith(_VCS_PREFIXES):
            raise _not_editable(text, origin)
        marker = str(req.marker) if req.marker else ""
        req = _pep508(_requirement_text(req.name, sorted(req.extras), url, marker), origin)
        return UserRequirement(req, origin, editable=editable)
    if _URL.match(text) or text.lower().startswith(_VCS_PREFIXES):
        # A URL may itself contain ";", so (like pip) only "; " starts its marker.
        location, _sep, marker = text.partition("; ")
        return _from_location(location.strip(), marker.strip(), base, origin, editable)
    location, _sep, marker = text.partition(";")
    if editable or _looks_like_path(location.strip()):
        return _from_location(location.strip(), marker.strip(), base, origin, editable)
    return UserRequirement(_pep508(text, origin), origin)


def _from_location(
    location: str, marker: str, base: Path, origin: str, editable: bool
) -> UserRequirement:
    """A plain URL or local path, named from its egg fragment, filename or project metadata."""
    lowered = location.lower()
    extras: list[str] = []
    if lowered.startswith(_VCS_PREFIXES) or (_URL.match(location) and lowered[:5] != "file:"):
        if editable and not lowered.startswith(_VCS_PREFIXES):
            raise _not_editable(location, origin)
        url = location
        name = _name_from_url(location, origin)
    else:
        location, extras = _split_extras(location)
        path = _local_path(location, base, origin, editable)
        url = path.as_uri()
        name = _local_name(path, location, origin)
    if name is None:
        raise UnnamedRequirement(
            UnnamedReference(origin, location, url, tuple(extras), marker, editable)
        )
    req = _pep508(_requirement_text(name, extras, url, marker), origin)
    return UserRequirement(req, origin, editable=editable)


@dataclass(frozen=True, slots=True)
class UnnamedReference:
    """A URL or path written without ``name @``, whose project name only its metadata can
    tell (a checkout or a build may be needed): ``ops.prepare.naming`` names it."""

    origin: str
    shown: str
    """The URL or path as written."""
    url: str
    extras: tuple[str, ...] = ()
    marker: str = ""
    editable: bool = False
    hashes: Hashes = ()

    def named(self, name: str) -> UserRequirement:
        """The requirement ``name @ url`` this reference is, once its name is known."""
        text = _requirement_text(name, self.extras, self.url, self.marker)
        req = _pep508(text, self.origin)
        return UserRequirement(req, self.origin, editable=self.editable, hashes=self.hashes)

    def refusal(self) -> RequirementError:
        """The error for a caller that cannot name it."""
        return UnnamedRequirement(self)


class UnnamedRequirement(RequirementError):
    """Raised by :func:`parse_requirement` for an :class:`UnnamedReference`.

    Callers that can name it (requirement gathering for installs and compiles) catch it
    and keep ``reference``; others let it stand as the error it is.
    """

    def __init__(self, reference: UnnamedReference) -> None:
        shown, origin = reference.shown, reference.origin
        super().__init__(
            f"{origin}: cannot tell the project name of {shown}; write it as 'name @ {shown}'"
        )
        self.reference = reference


def _local_path(location: str, base: Path, origin: str, editable: bool) -> Path:
    """The absolute path a local path or file: URL points to; it must exist."""
    if location.lower().startswith("file:"):
        path = Path(_url2pathname(urlsplit(location).path))
    else:
        path = Path(location).expanduser()
    path = (base / path).resolve()
    if not path.exists():
        raise RequirementError(f"{origin}: no such file or directory: {location}")
    if editable and not path.is_dir():
        raise RequirementError(
            f"{origin}: an editable requirement must be a project directory, not a file: {location}"
        )
    return path


def _local_name(path: Path, shown: str, origin: str) -> str | None:
    if path.is_dir():
        return static_project_name(path, origin)
    parsed = parse_dist_filename(path.name)
    if parsed is None:
        raise RequirementError(f"{origin}: {shown} is not a wheel, an sdist or a project directory")
    return parsed[0]


def static_project_name(directory: Path, origin: str) -> str | None:
    """[project].name from pyproject.toml, else [metadata] name from setup.cfg."""
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise RequirementError(f"{origin}: cannot read {pyproject}: {exc}") from None
        project = data.get("project")
        if isinstance(project, dict) and isinstance(project.get("name"), str):
            return str(project["name"])
    setup_cfg = directory / "setup.cfg"
    if setup_cfg.is_file():
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf-8")
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            detail = str(exc).splitlines()[0]
            raise RequirementError(f"{origin}: cannot read {setup_cfg}: {detail}") from None
        name = parser.get("metadata", "name", fallback="").strip()
        if name:
            return name
    return None


def _name_from_url(url: str, origin: str) -> str | None:
    parts = urlsplit(url)
    egg = parse_qs(parts.fragment).get("egg")
    if egg:
        if not re.match(_NAME, egg[0]):
            raise RequirementError(f"{origin}: invalid project name in #egg={egg[0]} of {url}")
        return egg[0]
    if not url.lower().startswith(_VCS_PREFIXES):
        parsed = parse_dist_filename(unquote(PurePath(parts.path).name))
        if parsed:
            return parsed[0]
    return None


def _requirement_text(name: str, extras: Sequence[str], url: str, marker: str) -> str:
    text = f"{name}[{','.join(extras)}] @ {url}" if extras else f"{name} @ {url}"
    return f"{text} ; {marker}" if marker else text


def _split_extras(location: str) -> tuple[str, list[str]]:
    match = re.match(_EXTRAS_SUFFIX, location)
    if match is None:
        return location, []
    extras = [extra.strip() for extra in match.group(2)[1:-1].split(",")]
    return match.group(1), [extra for extra in extras if extra]


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith((".", "/", "~"))
        or "/" in text
        or "\\" in text
        or text.endswith(_ARCHIVE_SUFFIXES)
    )


def _pep508(text: str, origin: str) -> Requirement:
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        detail = str(exc).splitlines()[0]
        raise RequirementError(f"{origin}: invalid requirement {text!r}: {detail}") from None
    problem = specifier_problem(req)
    if problem:
        raise RequirementError(f"{origin}: invalid requirement {text!r}: {problem}")
    return req


def specifier_problem(req: Requirement) -> str | None:
    """What is wrong with a parsed requirement's version specifiers, if anything.

    packaging 26.2 accepts ``===`` with nothing after it (it matches no version);
    pip and earlier packaging reject it, and so does cloche.
    """
    for spec in req.specifier:
        if not spec.version.strip():
            return f"{spec.operator!r} needs a version after it"
    return None


def _not_editable(text: str, origin: str) -> RequirementError:
    return RequirementError(
        f"{origin}: an editable requirement must be a local project directory "
        f"or a VCS URL (git+https://...), not {text!r}"
    )


def _url2pathname(path: str) -> str:
    """urllib.request.url2pathname, without importing urllib.request (~10 ms: http.client)."""
    if sys.platform == "win32":  # pragma: no cover
        import nturl2path

        return nturl2path.url2pathname(path)
    return unquote(path)
