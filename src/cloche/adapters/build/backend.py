"""PEP 517 / PEP 660 builds of source trees, through pyproject-hooks.

The isolated build environment comes from a :class:`BuildEnvironmentFactory`
that ops implement with cloche's own venv, resolver and installer; this adapter
only calls the backend's hooks and reports what they did.
"""

from __future__ import annotations

import os
import shutil
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Protocol, TypeVar

from pyproject_hooks import (
    BackendUnavailable,
    BuildBackendHookCaller,
    BuildBackendWarning,
    HookMissing,
)

from cloche.adapters.build.runner import CapturingRunner, HookFailed, backend_tail
from cloche.adapters.build.system import BuildSystem, describe_project, read_build_system
from cloche.adapters.build.vcs import redact_url
from cloche.core.closing import Closing
from cloche.core.metadata import parse_core_metadata
from cloche.core.models import Metadata
from cloche.core.report import NullReporter, Reporter
from cloche.errors import BuildError

__all__ = ["BuildEnvironment", "BuildEnvironmentFactory", "SourceBuilder"]

_T = TypeVar("_T")


class BuildEnvironment(Protocol):
    """A fresh environment the backend runs in (implemented in ops)."""

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        ...

    @property
    def scripts_dir(self) -> Path:
        """Prepended to PATH for the backend."""
        ...

    def install(self, requirements: Sequence[str]) -> None:
        """Resolve and install ``requirements`` into this environment (may raise ClocheError)."""
        ...


class BuildEnvironmentFactory(Protocol):
    def create(self) -> AbstractContextManager[BuildEnvironment]:
        """A fresh environment, removed on exit."""
        ...


class _Session:
    """The state of one source tree between its metadata and its wheel build."""

    def __init__(
        self,
        project_dir: Path,
        system: BuildSystem,
        source: str,
        env: BuildEnvironment | None,
        python: Path,
        stack: ExitStack,
        *,
        isolated: bool,
    ) -> None:
        self.project_dir = project_dir
        self.system = system
        self.source = source
        self.env = env
        self.python = python
        self.stack = stack
        self.lock = threading.Lock()
        self.runner = CapturingRunner(env.scripts_dir if env else None, isolated=isolated)
        self.hooks = BuildBackendHookCaller(
            str(project_dir),
            system.backend,
            list(system.backend_path) or None,
            runner=self.runner,
            python_executable=str(python),
        )
        self.installed: set[str] = set()
        self.requires_done: set[str] = set()
        """Build kinds (wheel, editable) whose get_requires hook was honoured."""
        self.metadata: dict[bool, tuple[Metadata, Path]] = {}
        """editable? -> (metadata, the .dist-info directory the backend prepared)."""

    def label(self) -> str:
        for metadata, _dist_info in self.metadata.values():
            return f"{metadata.name} {metadata.version}"
        return describe_project(self.project_dir)


class SourceBuilder(Closing):
    """Builds wheels and metadata from source trees; one build environment per tree.

    An environment made for :meth:`metadata` is reused by the :meth:`build_wheel`
    of the same tree, then removed; :meth:`close` removes any left over.
    """

    def __init__(
        self,
        env_factory: BuildEnvironmentFactory | None,
        *,
        reporter: Reporter | None = None,
        isolated: bool = True,
        python: Path | None = None,
        config_settings: Mapping[str, str | list[str]] | None = None,
    ) -> None:
        """``isolated=False`` (``--no-build-isolation``) runs hooks with ``python`` as is;
        ``config_settings`` (``-C KEY=VALUE``) go to every hook as PEP 517 says."""
        if isolated and env_factory is None:
            raise ValueError("an isolated SourceBuilder needs an env_factory")
        if not isolated and python is None:
            raise ValueError("SourceBuilder(isolated=False) needs the python to build with")
        self._factory = env_factory
        self._reporter: Reporter = reporter or NullReporter()
        self._isolated = isolated
        self._python = python
        self._config = dict(config_settings) if config_settings else None
        self._sessions: dict[Path, _Session] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Remove every build environment still held."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.stack.close()

    def metadata(
        self,
        project_dir: Path,
        work_dir: Path,
        *,
        editable: bool = False,
        source: str | None = None,
    ) -> Metadata:
        """Core metadata of a source tree, from ``prepare_metadata_for_build_wheel``
        (or ``_editable``) when the backend has it, else from a built wheel.

        ``work_dir`` must outlive the following :meth:`build_wheel` of the same tree,
        which reuses what was prepared there. ``source`` names the origin in errors.
        """
        session = self._session(project_dir, source)
        kind = "editable" if editable else "wheel"
        try:
            with session.lock:
                if editable in session.metadata:
                    return session.metadata[editable][0]
                self._install_backend_requires(session, kind)
                target = work_dir / f"metadata-{kind}"
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir(parents=True)
                prepare: Callable[..., str] = (
                    session.hooks.prepare_metadata_for_build_editable
                    if editable
                    else session.hooks.prepare_metadata_for_build_wheel
                )
                hook = f"prepare_metadata_for_build_{kind}"
                name = self._call(
                    session,
                    hook,
                    lambda: prepare(str(target), config_settings=self._config),
                    editable=editable,
                )
                dist_info = target / name
                metadata = _read_metadata_file(dist_info / "METADATA", session)
                session.metadata[editable] = (metadata, dist_info)
                return metadata
        except BaseException:
            self._discard(session)
            raise

    def build_wheel(
        self, project_dir: Path, out_dir: Path, *, editable: bool = False, source: str | None = None
    ) -> Path:
        """Build a wheel (``build_wheel``) or an editable wheel (PEP 660 ``build_editable``)
        of a source tree into ``out_dir``; return its path."""
        session = self._session(project_dir, source)
        kind = "editable" if editable else "wheel"
        task = self._reporter.started(f"building {session.label()}")
        try:
            with session.lock:
                self._install_backend_requires(session, kind)
                out_dir.mkdir(parents=True, exist_ok=True)
                prepared = session.metadata.get(editable)
                metadata_dir = str(prepared[1]) if prepared else None
                build: Callable[..., str] = (
                    session.hooks.build_editable if editable else session.hooks.build_wheel
                )
                hook = f"build_{kind}"
                name = self._call(
                    session,
                    hook,
                    lambda: build(
                        str(out_dir), config_settings=self._config, metadata_directory=metadata_dir
                    ),
                    editable=editable,
                )
                wheel = out_dir / name
                if not name.endswith(".whl") or not wheel.is_file():
                    raise BuildError(
                        f"failed to build {session.label()} from {session.source}: the build "
                        f"backend's {hook} returned {name!r}, which is not a wheel it wrote"
                    )
                return wheel
        finally:
            self._discard(session)
            self._reporter.finished(task)

    # -- sessions ------------------------------------------------------------------------
    def _session(self, project_dir: Path, source: str | None) -> _Session:
        key = Path(os.path.realpath(project_dir))
        with self._lock:
            session = self._sessions.get(key)
        if session is not None:
            return session
        # Made outside the lock: creating an environment may take a while.
        session = self._new_session(key, source or str(project_dir))
        with self._lock:
            existing = self._sessions.setdefault(key, session)
        if existing is not session:
            session.stack.close()
        return existing

    def _new_session(self, project_dir: Path, source: str) -> _Session:
        system = read_build_system(project_dir)
        stack = ExitStack()
        try:
            env: BuildEnvironment | None = None
            if self._isolated:
                assert self._factory is not None
                env = stack.enter_context(self._factory.create())
            python = env.python if env is not None else self._python
            assert python is not None
            return _Session(
                project_dir,
                system,
                redact_url(source),
                env,
                python,
                stack,
                isolated=self._isolated,
            )
        except BaseException:
            stack.close()
            raise

    def _discard(self, session: _Session) -> None:
        with self._lock:
            if self._sessions.get(session.project_dir) is session:
                del self._sessions[session.project_dir]
        session.stack.close()

    def _install_backend_requires(self, session: _Session, kind: str) -> None:
        """Install what ``get_requires_for_build_<kind>`` asks for (isolated builds only)."""
        if session.env is None or kind in session.requires_done:
            return
        self._install(session, session.system.requires, "build-system.requires")
        get: Callable[..., Sequence[str]] = (
            session.hooks.get_requires_for_build_editable
            if kind == "editable"
            else session.hooks.get_requires_for_build_wheel
        )
        hook = f"get_requires_for_build_{kind}"
        requires = self._call(
            session, hook, lambda: get(config_settings=self._config), editable=kind == "editable"
        )
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise BuildError(
                f"the build backend of {session.label()} from {session.source} answered "
                f"{hook} with {requires!r}, not a list of requirements"
            )
        self._install(session, requires, hook)
        session.requires_done.add(kind)

    def _install(self, session: _Session, requires: Sequence[str], why: str) -> None:
        missing = [r for r in requires if r not in session.installed]
        if missing and session.env is not None:
            self._reporter.debug(f"installing {why} of {session.label()}: {', '.join(missing)}")
            session.env.install(missing)
            session.installed.update(missing)

    # -- hooks ---------------------------------------------------------------------------
    def _call(self, session: _Session, hook: str, call: Callable[[], _T], *, editable: bool) -> _T:
        """Run one hook; turn its failures into BuildError carrying the backend's last lines."""
        session.runner.output = ""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", BuildBackendWarning)
                result = call()
        except HookFailed as exc:
            raise BuildError(
                f"failed to build {session.label()} from {session.source}: {hook} "
                f"(backend {session.system.backend}) exited with {exc.returncode}"
                + backend_tail(exc.output)
            ) from None
        except BackendUnavailable as exc:
            # Import machinery frames say nothing; the exception line says why.
            trace = exc.traceback or session.runner.output
            for line in trace.splitlines():
                self._reporter.debug(line)
            why = next((ln.strip() for ln in reversed(trace.splitlines()) if ln.strip()), "")
            raise BuildError(
                f"failed to build {session.label()} from {session.source}: cannot import the "
                f"build backend {session.system.backend!r}" + (f" ({why})" if why else ""),
                hint=None if session.env is not None else _not_isolated_hint(session),
            ) from None
        except HookMissing as exc:
            if editable:
                raise BuildError(
                    f"{session.label()}'s build backend does not support editable installs "
                    f"(it has no {exc.hook_name} hook, PEP 660); install it without -e"
                ) from None
            raise BuildError(
                f"failed to build {session.label()} from {session.source}: the build backend "
                f"{session.system.backend!r} has no {exc.hook_name} hook"
            ) from None
        finally:
            for line in session.runner.output.splitlines():
                self._reporter.debug(line)
        for warning in caught:
            if issubclass(warning.category, BuildBackendWarning):
                self._reporter.debug(f"{session.label()}: {warning.message}")
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        return result


def _not_isolated_hint(session: _Session) -> str:
    requires = " ".join(f'"{r}"' if " " in r else r for r in session.system.requires)
    return (
        f"without build isolation the backend runs in {session.python} as it is; install "
        f"the build requirements there first ({requires}), or drop --no-build-isolation"
    )


def _read_metadata_file(path: Path, session: _Session) -> Metadata:
    try:
        data = path.read_bytes()
    except OSError:
        raise BuildError(
            f"failed to build {session.label()} from {session.source}: the build backend "
            f"did not write {path.parent.name}/METADATA"
        ) from None
    return parse_core_metadata(data, source=f"{session.label()} from {session.source}")
