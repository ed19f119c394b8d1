"""conda ``environment.yml`` files: reading them, and conda match specs as PEP 508.

A conda spec ``numpy=1.26`` means "1.26.*", ``numpy==1.26`` exactly 1.26,
``numpy>=1.24,<2`` is a range, ``numpy 1.26.*`` the same with a space, and a
third ``=`` field is a build string (dropped: PyPI has none). ``conda-forge::x``
names a channel for one package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from cloche.errors import UsageError

_SPEC = re.compile(r"^(?:(?P<channel>[^:\s]+)::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<rest>.*)$")


@dataclass(frozen=True, slots=True)
class CondaEnvFile:
    """What an environment.yml says: its name, channels, conda specs and pip lines."""

    name: str | None
    channels: tuple[str, ...]
    conda: tuple[str, ...]
    pip: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CondaSpec:
    """One conda dependency: its name, and its version constraint as PEP 440 text."""

    name: str
    specifier: str
    """``==1.26.*``, ``>=1.24,<2`` or empty."""
    channel: str | None = None
    version: str | None = None
    """The version as written (``12.1`` of ``pytorch-cuda=12.1``), when there is one."""


def read_environment_file(path: Path) -> CondaEnvFile:
    """Parse ``path``; a YAML error becomes one line with its line and column."""
    import yaml

    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        found = type(data).__name__
        raise UsageError(f"{path}: expected a mapping with 'dependencies', found {found}")
    return _env_file(path, data)


def _strings(path: Path, value: object, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise UsageError(f"{path}: '{key}' must be a list of strings")
    return tuple(str(v) for v in value)


def _env_file(path: Path, data: dict[object, object]) -> CondaEnvFile:
    conda: list[str] = []
    pip: list[str] = []
    deps = data.get("dependencies")
    if deps is not None and not isinstance(deps, list):
        raise UsageError(f"{path}: 'dependencies' must be a list")
    for item in deps or ():
        if isinstance(item, dict) and set(item) == {"pip"}:
            pip.extend(_strings(path, item["pip"], "pip"))
        elif isinstance(item, (str, int, float)):
            conda.append(str(item))
        else:
            raise UsageError(f"{path}: unexpected entry in 'dependencies': {item!r}")
    name = data.get("name")
    return CondaEnvFile(
        name=str(name) if name is not None else None,
        channels=_strings(path, data.get("channels"), "channels"),
        conda=tuple(conda),
        pip=tuple(pip),
    )


def parse_conda_spec(text: str) -> CondaSpec:
    """A conda match spec (``numpy=1.26``, ``conda-forge::numpy>=1.24,<2``) as a CondaSpec."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise UsageError(f"cannot read the conda spec {text!r}")
    rest = match["rest"].strip()
    version = None
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=", 1)[0]  # a third field is a build string
        specifier = _fuzzy(version)
    elif rest and rest[0].isdigit():
        version = rest.split()[0]
        specifier = _fuzzy(version) if "*" in version else f"=={version}"
    else:
        specifier = rest.replace(" ", "")
        if specifier.startswith("=="):
            version = specifier[2:]
    if "|" in specifier:
        raise UsageError(f"the conda spec {text!r} uses '|' (or), which PEP 440 has no form for")
    specifier = ",".join(_fuzzy_clause(clause) for clause in specifier.split(",") if clause)
    try:
        Requirement(f"x{specifier}")
    except InvalidRequirement:
        raise UsageError(f"cannot turn the conda spec {text!r} into a version range") from None
    return CondaSpec(match["name"], specifier, match["channel"], version)


def _fuzzy(version: str) -> str:
    return f"=={version.rstrip('.*')}.*" if version.rstrip(".*") else ""


def _fuzzy_clause(clause: str) -> str:
    """``==1.2*`` (conda) as ``==1.2.*``; other clauses as they are."""
    if clause.startswith("==") and clause.endswith("*") and not clause.endswith(".*"):
        return clause[:-1].rstrip(".") + ".*"
    return clause
