"""``cloche pip compile``: resolve requirement files into a pinned requirements.txt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from cloche.adapters.atomic_file import atomic_write_text
from cloche.adapters.python.discovery import find_active_interpreter
from cloche.core.models import Interpreter, Metadata, NormalizedName, Resolution, Target
from cloche.core.requirements.file import is_project_file
from cloche.core.requirements.pins import read_pins, render_compiled, render_pins
from cloche.core.resolver import ResolveOptions, resolve
from cloche.core.targets import target_for
from cloche.errors import UsageError
from cloche.ops.requirements import gather, settings_with_file_options
from cloche.ops.services import Services

if TYPE_CHECKING:
    from cloche.ops.project_sources import ProjectFiles


@dataclass(frozen=True, slots=True)
class CompileRequest:
    """What ``cloche pip compile`` was asked to resolve, and for which Python."""

    sources: tuple[Path, ...]
    output: Path | None = None
    constraints: tuple[Path, ...] = ()
    python: str | None = None
    python_version: str | None = None
    python_platform: str | None = None
    upgrade: bool = False
    upgrade_packages: frozenset[NormalizedName] = frozenset()
    generate_hashes: bool = False
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    annotate: bool = True
    header: bool = True
    universal: bool = False
    """One file for every platform and Python from ``python_version`` (or the
    interpreter's) up: pins carry markers where the targets differ."""
    extras: tuple[str, ...] = ()
    """``--extra``: of the pyproject.toml / setup.py among ``sources``."""
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    command_line: str = "cloche pip compile"
    explicit_flags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompileResult:
    """A compiled requirements text and the resolution behind it."""

    text: str
    resolution: Resolution
    """With ``--universal``: the first target's (the lowest Python on linux)."""
    pin_count: int = 0
    """Lines pinned (with ``--universal`` a package may have one per fork)."""


def compile_requirements(services: Services, request: CompileRequest) -> CompileResult:
    """Resolve ``request.sources`` and render (and write, with an output file) the pins."""
    reporter = services.reporter
    asked = gather(
        requirement_files=request.sources,
        constraint_files=request.constraints,
        only_binary=request.only_binary,
        no_binary=request.no_binary,
        projects=_project_files(services, request),
    )
    services = services.using(
        settings_with_file_options(services.settings, asked.files, request.explicit_flags)
    )
    settings = services.settings
    interpreter = find_active_interpreter(request.python, cache_dir=settings.cache_dir)
    target = _target(interpreter.target(), request)
    preferences: dict[NormalizedName, Version] = {}
    # Only a regular file holds earlier pins: reading /dev/stdout or a FIFO would block.
    if request.output is not None and request.output.is_file() and not request.upgrade:
        preferences = read_pins(request.output)
    options = ResolveOptions(
        constraints=asked.constraints,
        preferences=tuple(preferences.items()),
        upgrade=request.upgrade,
        upgrade_packages=request.upgrade_packages,
        prerelease=settings.prerelease,
        prerelease_mode=settings.prerelease_mode,
        no_binary=asked.files.no_binary if asked.files else frozenset(),
        only_binary=asked.files.only_binary if asked.files else frozenset(),
    )
    sources = services.sources(interpreter)
    if asked.unnamed:
        from cloche.ops.prepare.naming import ReferenceNames

        namer = ReferenceNames(settings.cache_dir, lambda: sources.trees, reporter)
        asked = asked.named(namer.names(asked.unnamed))
    finder = sources.finder
    python_version = f"{target.python_version.major}.{target.python_version.minor}"
    if request.universal:
        from cloche.ops.compile_universal import resolve_universal

        grid, pins = resolve_universal(
            asked.requirements, finder, target.python_version, options, reporter
        )
        resolution = grid[0][0]
        text = render_pins(
            [(pin.package, pin.marker) for pin in pins],
            command=request.command_line,
            python_version=python_version,
            generate_hashes=request.generate_hashes,
            annotate=request.annotate,
            header=request.header,
        )
        count = len(pins)
    else:
        resolution = resolve(asked.requirements, finder, target, options, reporter)
        text = render_compiled(
            resolution,
            command=request.command_line,
            python_version=python_version,
            generate_hashes=request.generate_hashes,
            annotate=request.annotate,
            header=request.header,
        )
        count = len(resolution.packages)
    if request.output is not None:
        _write(request.output, text)
    return CompileResult(text, resolution, count)


def _write(output: Path, text: str) -> None:
    """All or nothing into a file; as it comes into a device or pipe (``/dev/stdout``),
    which cannot be replaced by a rename."""
    if output.exists() and not output.is_file():
        with output.open("w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        atomic_write_text(output, text)


def _project_files(services: Services, request: CompileRequest) -> ProjectFiles | None:
    """What reads a pyproject.toml / setup.py among the sources: the project's build
    backend answers for dependencies it declares dynamic."""
    if not (
        request.extras
        or request.all_extras
        or request.groups
        or any(map(is_project_file, request.sources))
    ):
        return None
    from cloche.ops.project_sources import ProjectChoice, ProjectFiles

    def backend(url: str) -> Metadata:
        def interpreter() -> Interpreter:
            return find_active_interpreter(request.python, cache_dir=services.settings.cache_dir)

        return services.sources(interpreter).trees.url_metadata(url)

    choice = ProjectChoice(request.extras, request.all_extras, request.groups)
    return ProjectFiles(choice, backend, services.reporter)


def _target(host: Target, request: CompileRequest) -> Target:
    if request.universal:
        if request.python_platform is not None:
            raise UsageError("--universal resolves for every platform; drop --python-platform")
        # Only the lower bound of the Pythons matters; the platforms are the grid's.
        return target_for(request.python_version or _minor(host), None, host=host)
    if request.python_version is None and request.python_platform is None:
        return host
    version = request.python_version or str(host.python_version)
    if request.python_platform is None:
        return target_for(version, None, host=host)
    return target_for(version, request.python_platform)


def _minor(host: Target) -> str:
    return f"{host.python_version.major}.{host.python_version.minor}"
