"""The composition root: what one command works with, built once and passed down.

The CLI opens ``Services`` for a command; ops take it and never construct a store,
an index client or a builder themselves, so each use case can also run in-process
with fakes. The index client is opened on first use: a command the store answers
alone (a warm ``sync``) never makes one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.config import Settings
from cloche.core.closing import Closing
from cloche.core.models import Interpreter
from cloche.core.report import NullReporter, Reporter

if TYPE_CHECKING:
    from cloche.adapters.build.backend import SourceBuilder
    from cloche.adapters.index.client import IndexClient
    from cloche.adapters.store import Store
    from cloche.ops.finder.index_finder import IndexFinder
    from cloche.ops.prepare.buildenv import IsolatedBuildEnvs
    from cloche.ops.prepare.preparer import Preparer
    from cloche.ops.prepare.trees import SourceTrees


class Sources:
    """The finder the resolver asks and the preparer that makes wheels, sharing trees.

    The trees and the preparer are made on first use: a compile of wheels alone needs
    neither, nor their imports.
    """

    __slots__ = ("_lock", "_make_preparer", "_make_trees", "_preparer", "_trees", "finder")

    def __init__(
        self,
        finder: Callable[[Callable[[], SourceTrees]], IndexFinder],
        trees: Callable[[], SourceTrees],
        make_preparer: Callable[[], Preparer],
    ) -> None:
        """``finder`` is given this object's ``trees`` getter."""
        self._make_trees = trees
        self._trees: SourceTrees | None = None
        self._make_preparer = make_preparer
        self._preparer: Preparer | None = None
        self._lock = threading.RLock()  # making the preparer makes the trees
        self.finder = finder(lambda: self.trees)

    @property
    def trees(self) -> SourceTrees:
        with self._lock:
            if self._trees is None:
                self._trees = self._make_trees()
            return self._trees

    @property
    def preparer(self) -> Preparer:
        with self._lock:
            if self._preparer is None:
                self._preparer = self._make_preparer()
            return self._preparer


class Services(Closing):
    """The store, the index client and source builds of one command."""

    def __init__(
        self,
        settings: Settings,
        reporter: Reporter | None = None,
        *,
        store: Store | None = None,
        client: Callable[[Settings, Reporter], IndexClient] | None = None,
        _stack: ExitStack | None = None,
    ) -> None:
        """``store`` and ``client`` replace the real ones (tests pass fakes)."""
        self.settings = settings
        self.reporter: Reporter = reporter or NullReporter()
        self._store = store
        self._store_lock = threading.Lock()
        self._make_client = client
        self._client: IndexClient | None = None
        self._stack = _stack or ExitStack()

    @property
    def store(self) -> Store:
        """Made on first use (also from a source build's thread: under a lock)."""
        with self._store_lock:
            if self._store is None:
                from cloche.adapters.store import Store

                self._store = Store(self.settings.cache_dir)
            return self._store

    def using(self, settings: Settings) -> Services:
        """The same store and lifetime with other settings (a requirements file's ``-i``)."""
        if settings == self.settings:
            return self
        return Services(
            settings,
            self.reporter,
            store=self._store,
            client=self._make_client,
            _stack=self._stack,
        )

    def client(self) -> IndexClient:
        """The index client, opened on first use and closed with these services."""
        if self._client is None:
            if self._make_client is not None:
                made = self._make_client(self.settings, self.reporter)
            else:
                from cloche.adapters.index.client import IndexClient

                made = IndexClient(self.settings, reporter=self.reporter)
            self._client = self._stack.enter_context(made)
        return self._client

    def sources(
        self,
        interpreter: Interpreter | Callable[[], Interpreter],
        *,
        src_dir: Path | None = None,
    ) -> Sources:
        """A finder and a preparer; builds use ``interpreter`` as their base.

        Editable VCS checkouts are kept in ``src_dir`` (see ``SourceTrees``).
        """
        from cloche.ops.finder.index_finder import IndexFinder

        settings, reporter = self.settings, self.reporter
        sources: list[Sources] = []  # set below: build envs install with these sources
        made_envs: list[IsolatedBuildEnvs] = []
        envs_lock = threading.Lock()

        def install(env: Interpreter, requirements: Sequence[str]) -> None:
            _install_build_requirements(self, sources[0], env, requirements)

        def envs() -> IsolatedBuildEnvs:
            # Made on first use, as the builder is: most commands build nothing.
            with envs_lock:
                if not made_envs:
                    from cloche.ops.prepare.buildenv import IsolatedBuildEnvs

                    made_envs.append(IsolatedBuildEnvs(interpreter, install))
                return made_envs[0]

        made_trees: list[SourceTrees] = []

        def trees() -> SourceTrees:
            from cloche.ops.prepare.build_keys import build_variant
            from cloche.ops.prepare.trees import SourceTrees

            made = SourceTrees(
                self.client,
                lambda: self.store,
                lambda: _builder(settings, reporter, envs()),
                reporter,
                build_variant=build_variant(settings),
                build_python=lambda: envs().base,
                src_dir=src_dir,
            )
            made_trees.append(made)
            return made

        def close_trees() -> None:
            for made in made_trees:
                made.close()

        self._stack.callback(close_trees)  # before the client opens: closed after it

        def preparer() -> Preparer:
            from cloche.ops.prepare.preparer import Preparer

            return Preparer(
                self.client,
                self.store,
                sources[0].trees,
                reporter,
                concurrency=settings.concurrency,
            )

        client = self.client()
        sources.append(Sources(lambda trees_of: IndexFinder(client, trees_of), trees, preparer))
        return sources[0]

    def close(self) -> None:
        self._stack.close()


def _builder(settings: Settings, reporter: Reporter, envs: IsolatedBuildEnvs) -> SourceBuilder:
    from cloche.adapters.build.backend import SourceBuilder
    from cloche.ops.prepare.build_keys import config_settings

    config = config_settings(settings.config_settings)
    if not settings.no_build_isolation:
        return SourceBuilder(envs, reporter=reporter, config_settings=config)
    python = Path(envs.base.executable)  # the target itself
    return SourceBuilder(
        None, isolated=False, python=python, reporter=reporter, config_settings=config
    )


def _install_build_requirements(
    services: Services, sources: Sources, env: Interpreter, requirements: Sequence[str]
) -> None:
    """Resolve and link a build environment's requirements, as any install."""
    from cloche.core.requirements.line import parse_requirement
    from cloche.core.resolver import resolve
    from cloche.ops.apply import apply
    from cloche.ops.layouts import layout_for
    from cloche.ops.plan import plan_for, wanted_from

    reqs = [parse_requirement(text, "build-system.requires") for text in requirements]
    resolution = resolve(reqs, sources.finder, env.target())
    layout = layout_for(env)
    plan = plan_for(layout, wanted_from(resolution, reqs), services.store.unpacked_dist)
    apply(layout, plan, lambda: sources.preparer, services.settings, services.reporter)
