"""Naming URLs and paths written without ``name @``, as pip and uv do.

A git URL is resolved to its commit first (``git ls-remote`` for a branch, a tag or no
ref; nothing for a full commit id), so a name found once is kept by URL and commit
and a second run reads no metadata. Otherwise the source tree is fetched (cloned,
unpacked) and named from ``[project].name`` or ``setup.cfg`` when they say it, else
from what its build backend reports (``prepare_metadata_for_build_wheel``, or a build).
The tree is the one the install or compile then builds from: nothing is fetched twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cloche.adapters.name_cache import NameCache
from cloche.core.models import UserRequirement
from cloche.core.report import NullReporter, Reporter
from cloche.core.requirements.line import (
    UnnamedReference,
    UnnamedRequirement,
    parse_requirement,
    static_project_name,
)
from cloche.errors import BuildError

if TYPE_CHECKING:
    from cloche.ops.prepare.trees import SourceTrees

_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


class ReferenceNames:
    """Names unnamed references; ``trees`` is made on first need (a name kept from an
    earlier run needs none), once."""

    def __init__(
        self,
        cache_dir: Path,
        trees: Callable[[], SourceTrees],
        reporter: Reporter | None = None,
    ) -> None:
        self._cache = NameCache(cache_dir)
        self._make_trees = trees
        self._made: SourceTrees | None = None
        self._reporter: Reporter = reporter or NullReporter()

    def _trees(self) -> SourceTrees:
        if self._made is None:
            self._made = self._make_trees()
        return self._made

    def named(self, references: Sequence[UnnamedReference]) -> tuple[UserRequirement, ...]:
        """Each reference as the ``name @ url`` requirement it is."""
        return tuple(ref.named(self.name(ref)) for ref in references)

    def names(self, references: Sequence[UnnamedReference]) -> list[str]:
        return [self.name(ref) for ref in references]

    def name(self, reference: UnnamedReference) -> str:
        """The project name of ``reference``; one error line naming it when there is none."""
        try:
            if reference.url.startswith("git+"):
                return self._vcs_name(reference)
            return self._tree_name(reference)
        except BuildError as exc:  # a clone or a build that failed says what it was
            raise BuildError(f"{reference.origin}: {exc.message}", hint=exc.hint) from None

    def _vcs_name(self, reference: UnnamedReference) -> str:
        from cloche.adapters.build.vcs import resolve_vcs_commit

        url = reference.url
        commit = resolve_vcs_commit(url)  # a full commit id needs no network
        found = self._cache.load(source_key(url, commit))
        if found is not None:
            self._reporter.debug(f"{reference.origin}: {found}, as named before at {commit[:12]}")
            return found
        name = self._tree_name(reference)
        checked_out = self._trees().vcs_commit(url) or commit  # the clone may be newer
        self._cache.store(source_key(url, checked_out), name)
        return name

    def _tree_name(self, reference: UnnamedReference) -> str:
        trees = self._trees()
        tree = trees.tree_for_url(reference.url)
        name = static_project_name(tree, reference.origin)
        if name is None:
            if not any((tree / file).is_file() for file in _PROJECT_FILES):
                from cloche.adapters.index.auth import redact

                raise BuildError(
                    f"cannot tell the project name of {redact(reference.shown)}: there is "
                    f"no Python project in it (no {', '.join(_PROJECT_FILES)})"
                )
            name = trees.url_metadata(reference.url).name
        self._reporter.debug(f"{reference.origin}: {reference.shown} is {name}")
        return name


def source_key(url: str, commit: str) -> str:
    """What identifies a git URL's source at ``commit``: the repository without
    credentials, revision or ``.git``, the subdirectory, and the commit."""
    from cloche.adapters.build.vcs import parse_vcs_url

    vcs = parse_vcs_url(url)
    split = urlsplit(vcs.repository)
    host = split.netloc.rpartition("@")[2].lower()
    path = split.path.rstrip("/").removesuffix(".git")
    subdirectory = vcs.subdirectory or ""
    return f"git+{split.scheme.lower()}://{host}{path}#subdirectory={subdirectory}@{commit}"


def name_arguments(
    texts: Sequence[str],
    cache_dir: Path,
    trees: Callable[[], SourceTrees],
    reporter: Reporter | None = None,
) -> tuple[str, ...]:
    """Command-line requirements with each URL or path written without ``name @`` as
    ``name @ url`` (what ``cloche add`` writes to pyproject.toml); the rest as typed."""
    out: list[str] = []
    namer: ReferenceNames | None = None
    for text in texts:
        try:
            parse_requirement(text, "command line")
        except UnnamedRequirement as exc:
            namer = namer or ReferenceNames(cache_dir, trees, reporter)
            out.append(str(exc.reference.named(namer.name(exc.reference)).requirement))
            continue
        out.append(text)
    return tuple(out)
