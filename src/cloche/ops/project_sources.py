"""A project file given where a requirements file goes: ``cloche pip compile
pyproject.toml``, ``pip install -r setup.py``, as pip-tools and uv read them.

The requirements are the project's own dependencies plus the extras and dependency
groups asked for (``--extra``, ``--all-extras``, ``--group``); the project itself is
not among them. Dependencies that ``[project] dynamic`` leaves to the build backend
(and every dependency of a ``setup.py`` / ``setup.cfg`` project) are read from the
backend's ``prepare_metadata_for_build_wheel``, as ``cloche lock`` reads them (extras
too, when ``optional-dependencies`` is dynamic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from packaging.requirements import Requirement

from cloche.core.marker_extra import for_extra
from cloche.core.models import Metadata, NormalizedName, UserRequirement, normalize
from cloche.core.project.load import load_project, read_pyproject
from cloche.core.project.roots import requirements_for
from cloche.core.project.spec import PYPROJECT, ProjectSpec
from cloche.core.report import Reporter
from cloche.core.requirements.file import PROJECT_FILES, is_project_file
from cloche.errors import ProjectError, UsageError

BackendMetadata = Callable[[str], Metadata]
"""The core metadata a build of the source tree at this ``file://`` URL reports."""


@dataclass(frozen=True, slots=True)
class ProjectChoice:
    """Which optional parts of a project file to add to its dependencies."""

    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()

    @property
    def chosen(self) -> bool:
        return bool(self.extras or self.all_extras or self.groups)


class ProjectFiles:
    """Reads the project files among a command's requirements files."""

    def __init__(
        self,
        choice: ProjectChoice = ProjectChoice(),
        backend: BackendMetadata | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self._choice = choice
        self._backend = backend
        self._reporter = reporter

    def check(self, files: Sequence[Path]) -> None:
        """``--extra`` / ``--group`` need a project file to choose from."""
        if self._choice.chosen and not any(is_project_file(f) for f in files):
            raise UsageError(
                "--extra, --all-extras and --group choose from a project: give its "
                "pyproject.toml (or setup.py / setup.cfg) as a requirements file"
            )

    def requirements(self, path: Path) -> list[UserRequirement]:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        root = path.parent
        spec = load_project(root) if path.name == PYPROJECT else None
        if spec is None or spec.name is None:
            spec = _without_project_table(path, spec)
        choice = self._choice
        extras_asked = bool(choice.extras or choice.all_extras)
        if "dependencies" in spec.dynamic or (
            "optional-dependencies" in spec.dynamic and extras_asked
        ):
            if self._backend is None:
                raise UsageError(
                    f"{path}: the project's dependencies come from its build backend; "
                    "compile them first",
                    hint=f"cloche pip compile {path} -o requirements.txt",
                )
            spec = with_backend_dependencies(spec, self._backend, self._reporter)
        asked = requirements_for(
            spec,
            groups=choice.groups,
            extras=choice.extras,
            all_extras=choice.all_extras,
            source=str(path),
        )
        # As pip-tools and uv annotate them: "# via demo (pyproject.toml)".
        origin = f"{spec.name or root.resolve().name} ({path})"
        return [replace(req, origin=origin) for req in asked]


def _without_project_table(path: Path, spec: ProjectSpec | None) -> ProjectSpec:
    """A setup.py / setup.cfg project, or a pyproject.toml without a [project] table:
    the build backend names the dependencies and extras when there is one; else only
    the file's dependency groups (PEP 735) are there to read."""
    root = path.parent
    legacy = any((root / name).is_file() for name in PROJECT_FILES if name != PYPROJECT)
    if spec is not None and not legacy:
        legacy = "build-system" in read_pyproject(path)
    groups = spec.dependency_groups if spec is not None else MappingProxyType({})
    if legacy:
        dynamic = frozenset({"dependencies", "optional-dependencies"})
        return ProjectSpec(root, None, None, dependency_groups=groups, dynamic=dynamic)
    if spec is not None and spec.dependency_groups:
        return spec
    raise UsageError(
        f"{path} has no [project] table, no dependency groups and no build backend: "
        "it names no dependencies"
    )


def with_backend_dependencies(
    spec: ProjectSpec, metadata: BackendMetadata, reporter: Reporter | None
) -> ProjectSpec:
    """``spec`` with what its build backend gives for the fields ``[project] dynamic``
    names (setuptools reading requirements.txt, hatch, pdm; every field of a
    ``setup.py`` project): the dependencies and the extras' requirements that the
    backend's ``prepare_metadata_for_build_wheel`` reports."""
    wanted = spec.dynamic & {"dependencies", "optional-dependencies"}
    if not wanted:
        return spec
    if "dependencies" in wanted and spec.dependencies:
        raise ProjectError(
            "pyproject.toml lists [project] dependencies and also names them in "
            "[project] dynamic; keep one of the two"
        )
    given = metadata(spec.root.resolve().as_uri())
    own = normalize(spec.name or given.name)
    changed = replace(spec, name=spec.name or given.name)
    said: list[str] = []
    if "dependencies" in wanted:
        dependencies = tuple(
            req
            for req in given.requires_dist
            if not _names_an_extra(req)
            if normalize(req.name) != own
        )
        changed = replace(changed, dependencies=dependencies)
        said.append(f"{len(dependencies)} dependencies")
    if "optional-dependencies" in wanted and not spec.optional_dependencies:
        extras = _backend_extras(given, own)
        changed = replace(changed, optional_dependencies=MappingProxyType(extras))
        said.append(f"{len(extras)} extras")
    if reporter is not None:
        why = "pyproject.toml names them in [project] dynamic" if spec.name else given.name
        reporter.info(f"Read {' and '.join(said)} from the build backend ({why})")
    return changed


def _backend_extras(
    given: Metadata, own: NormalizedName
) -> dict[NormalizedName, tuple[Requirement, ...]]:
    """Each extra's requirements, its own condition decided (``core.marker_extra``) and
    the project's references to its other extras (``demo[viz]`` in ``all``) expanded."""
    names = set(given.provides_extras)
    raw: dict[NormalizedName, list[Requirement]] = {extra: [] for extra in names}
    for req in given.requires_dist:
        if not _names_an_extra(req):
            continue
        for extra in names:
            chosen = for_extra(req, extra)
            if chosen is not None:
                raw[extra].append(chosen)

    def expanded(extra: NormalizedName, seen: frozenset[NormalizedName]) -> list[Requirement]:
        out: list[Requirement] = []
        for req in raw.get(extra, []):
            if normalize(req.name) != own:
                out.append(req)
                continue
            for inner in sorted(normalize(e) for e in req.extras):
                if inner not in seen:
                    out += expanded(inner, seen | {inner})
        return out

    return {extra: tuple(expanded(extra, frozenset({extra}))) for extra in sorted(names)}


def _names_an_extra(req: Requirement) -> bool:
    """Whether ``req`` belongs to an extra (its marker mentions ``extra``)."""
    return req.marker is not None and "extra" in str(req.marker)
