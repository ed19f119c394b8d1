"""Where distributions come from: indexes and find-links, plus builds from source.

``Sources`` is the resolver's PackageFinder for a command: it asks the index
client first and builds from source (sdists, directories, VCS) only when the
metadata cannot be read without a build.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.requirements import Requirement
from packaging.version import Version

from cloche.adapters.index.auth import redact
from cloche.adapters.index.client import IndexClient, NeedsBuild
from cloche.adapters.index.download import Sink, local_path
from cloche.adapters.store import Store, UnpackedWheel
from cloche.config import Settings
from cloche.core.finder import PackageFinder, PickFiles
from cloche.core.models import (
    DistFile,
    Interpreter,
    Metadata,
    NormalizedName,
    normalize,
    parse_dist_filename,
    wheel_fits,
)
from cloche.core.report import NullReporter, Reporter
from cloche.errors import BuildError, UsageError
from cloche.ops.ahead import AheadFetcher, Stopped
from cloche.ops.build_keys import build_variant, config_settings, variant_key

if TYPE_CHECKING:
    from cloche.adapters.build.backend import SourceBuilder

_STREAM_LIMIT = 128 * 1024 * 1024
"""Wheels up to this size unpack as they download, never written to the cache whole.

Each is held in memory until its last byte is in, once per preparing thread: bigger
wheels (torch, tensorflow) go to disk first so memory stays bounded."""
_SEND_LIMIT = 64 * 1024 * 1024
"""Wheels up to this size go to an unpack helper from memory; bigger ones through a
file in the cache. Up to helpers + 4 are held at once (a CUDA stack peaked at 600 MB
with 128 MB here)."""


class Sources(PackageFinder):
    """The PackageFinder of one command run, and the producer of installable wheels."""

    def __init__(
        self,
        client: IndexClient,
        store: Store,
        builder: Callable[[], SourceBuilder],
        reporter: Reporter | None = None,
        *,
        build_variant: str | None = "",
        build_python: Callable[[], Interpreter] | None = None,
        src_dir: Path | None = None,
    ) -> None:
        """``builder`` makes the source builder on first need (most commands build nothing).

        ``build_variant`` is what else shapes a build (see ``build_keys``): built
        wheels are cached per source and variant; with None (builds that depend on the
        environment they ran in, as with ``--no-build-isolation``) they are neither
        reused nor kept. ``build_python`` is the interpreter builds run with (found on
        first use): a build kept for one Python is not used for another, nor is what
        its metadata said (a setup.py may compute its requirements). ``src_dir`` is
        where editable VCS checkouts are kept (pip's ``--src``); without it an
        editable VCS URL is refused.
        """
        self.client = client
        self.store = store
        self._make_builder = builder
        self._build_variant = build_variant
        self._build_python = build_python
        self._builder: SourceBuilder | None = None
        self.reporter: Reporter = reporter or NullReporter()
        self._work = Path(tempfile.mkdtemp(prefix="cloche-src-"))
        self._lock = threading.Lock()
        self._builder_lock = threading.Lock()
        self._trees: dict[str, Path] = {}
        """Unpacked/cloned source trees by URL or sdist sha256, reused for metadata then build."""
        self._src_dir = src_dir
        self._kept: dict[str, Path] = {}
        """Editable VCS URL -> its project directory in ``src_dir``."""
        self._unhashed: dict[str, str] = {}
        """URL -> sha256 of archives that came without a hash, once stored."""
        self._url_meta: dict[str, Metadata] = {}
        # The wheels of one release share their metadata (as uv and poetry assume): a
        # lock for three platforms reads each release's metadata once, not three times.
        self._release_meta: dict[tuple[NormalizedName, Version], Metadata] = {}
        self._release_asked: set[tuple[NormalizedName, Version]] = set()
        self._ahead: AheadFetcher | None = None

    # -- PackageFinder -------------------------------------------------------------
    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        return self.client.files(name)

    def metadata(self, file: DistFile) -> Metadata:
        release = (file.name, file.version)
        if file.is_wheel:
            with self._lock:
                known = self._release_meta.get(release)
            if known is not None:
                return known
        try:
            found = self.client.metadata(file)
            if file.is_wheel:
                with self._lock:
                    self._release_meta.setdefault(release, found)
            return found
        except NeedsBuild:
            key = self._built_metadata_key(file)
            cache = self.client.metadata_cache
            if key is not None:
                cached = cache.load(key)
                if cached is not None and (cached.name, cached.version) == release:
                    return cached
            tree = self._tree_for_file(file)
            built = self.builder.metadata(tree, self._scratch(), source=file.filename)
            if key is not None:
                cache.store(key, built)
            return built

    def _built_metadata_key(self, file: DistFile) -> str | None:
        """Where what a build of sdist ``file`` said is kept; None when it is not kept."""
        if self._build_variant is None or not file.sha256:
            return None
        return self._kept_metadata_key(variant_key(file.sha256, self._build_variant))

    def _kept_metadata_key(self, build_key: str | None) -> str | None:
        """Where the metadata a build (``build_key``) reported is kept, per interpreter."""
        python = self._build_python() if self._build_python is not None else None
        if build_key is None or python is None:
            return None
        platform = str(python.tags[0]) if python.tags else ""
        return f"built={build_key}|{python.implementation}-{python.version}|{platform}"

    def _wheel_fits(self, filename: str) -> bool:
        """Whether a kept build can be installed by the interpreter builds run with."""
        if self._build_python is None:
            return True
        return wheel_fits(filename, self._build_python().tags)

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        try:
            return self.client.direct_metadata(requirement)
        except NeedsBuild:
            pass
        return self._url_metadata(requirement.url or ""), None

    def vcs_commit(self, url: str) -> str | None:
        """The commit a VCS URL was checked out at (None for other URLs).

        A URL that names a full commit needs no checkout to tell: a build of it kept
        in the store is then installed without touching the repository.
        """
        if not url.startswith("git+"):
            return None
        from cloche.adapters.build.vcs import head_commit, pinned_commit

        with self._lock:
            tree = self._trees.get(url)
        if tree is None:
            pinned = pinned_commit(url)
            if pinned is not None:
                return pinned
            tree = self._tree_for_url(url)
        return head_commit(tree)

    def project_name(self, url: str) -> str:
        """The project name of a URL or path, from its metadata (building it if need be)."""
        file = self._direct_file(url)
        if file is not None:
            return file.name
        return self._url_metadata(url).name

    def _url_metadata(self, url: str) -> Metadata:
        with self._lock:
            known = self._url_meta.get(url)
        if known is None:
            key = self._kept_metadata_key(self._build_key(url))
            cache = self.client.metadata_cache
            known = cache.load(key) if key is not None else None
            if known is None:
                tree = self._tree_for_url(url)
                known = self.builder.metadata(tree, self._scratch(), source=url)
                if key is not None:
                    cache.store(key, known)
            with self._lock:
                self._url_meta[url] = known
        return known

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        self.client.prefetch(names, None if then is None else _Unseen(self, then))

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        self.client.prefetch_metadata(self._unseen_releases(files))

    def _unseen_releases(self, files: Iterable[DistFile]) -> list[DistFile]:
        """Wheels of releases whose metadata nobody has asked for yet (marks them asked)."""
        out = []
        with self._lock:
            for file in files:
                release = (file.name, file.version)
                if file.is_wheel and release in self._release_asked:
                    continue
                self._release_asked.add(release)
                out.append(file)
        return out

    # -- artifacts -------------------------------------------------------------------
    def archive(self, file: DistFile) -> tuple[Path, str]:
        """The file in the store (downloaded once, sha256-checked): (path, sha256)."""
        with self._lock:
            sha = file.sha256 or self._unhashed.get(file.url)
        if sha:
            found = self.store.archive(sha)
            if found is not None:
                return found, sha
        path, sha = self._add_archive(file, file.sha256)  # a remembered hash is no check
        if not file.sha256:
            with self._lock:
                self._unhashed[file.url] = sha
        return path, sha

    def _add_archive(self, file: DistFile, sha: str | None) -> tuple[Path, str]:
        """Copy or download ``file`` into the store, checking ``sha`` when given."""
        if file.url.startswith("file:"):
            local = local_path(file.url)
            return self.store.add_archive(local, file.filename, sha256=sha, move=False)
        staging = self.store.staging_dir()
        try:
            staged = self.client.download(file, staging)  # checks sha256 as it streams
            return self.store.add_archive(
                staged, file.filename, sha256=sha, move=True, verified=bool(sha)
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def archive_sha256(self, url: str) -> str:
        """The sha256 of the wheel or sdist a direct URL names (kept in the store)."""
        file = self._direct_file(url)
        if file is None:
            raise UsageError(f"cannot lock {url}: not a wheel, sdist, directory or git URL")
        return self.archive(file)[1]

    def verified_sha256(self, file: DistFile) -> str:
        """The sha256 of ``file``'s content, without a download when the store has it."""
        if file.is_wheel and file.sha256:
            if self._fetched_ahead(file) is not None:
                return file.sha256  # unpacked (or its error raised) by now
            if self.store.unpacked(file.sha256) is not None:
                return file.sha256  # unpacked trees are keyed by their archive's checked hash
        return self.archive(file)[1]

    def stored_wheel(self, file: DistFile) -> UnpackedWheel | None:
        """``file`` already unpacked in the store (a wheel the index gave a sha256 for)."""
        found = self.store.unpacked_dist(file)
        if found is not None:
            self._note_origin(file)
        return found

    def _note_origin(self, file: DistFile) -> None:
        """Let later pinned installs find this stored wheel without its index page."""
        if file.index != file.url:  # not a direct URL
            self.store.origins.note(file)

    @contextmanager
    def fetching_ahead(self, threads: int) -> Iterator[Callable[[DistFile], None]]:
        """While the block runs, the function it gives starts wheels into the store.

        ``wheel`` then takes each from there (waiting for it if need be); at the end
        of the block, fetches nobody took are stopped (see ``ops/ahead.py``).
        """
        ahead = AheadFetcher(self._wheel, self.store, threads=threads)
        self._ahead = ahead
        try:
            yield ahead.start
        finally:
            self._ahead = None
            ahead.close()

    def wheel(self, file: DistFile) -> UnpackedWheel:
        """An unpacked wheel for ``file``: unpacked from the store, or built from the sdist."""
        return self._fetched_ahead(file) or self._wheel(file)

    def _fetched_ahead(self, file: DistFile) -> UnpackedWheel | None:
        """The wheel a fetch ahead made of ``file`` (waited for); None if none was started."""
        ahead = self._ahead
        job = ahead.take(file) if ahead is not None else None
        return job.result() if job is not None and not job.cancelled() else None

    def _wheel(self, file: DistFile) -> UnpackedWheel:
        found = self.stored_wheel(file)
        if found is not None:
            return found
        wheel = self._new_wheel(file)
        kept = wheel.sha256 == file.sha256 if file.is_wheel else self._build_variant is not None
        if file.sha256 and kept:
            self._note_origin(file)
        return wheel

    def _new_wheel(self, file: DistFile) -> UnpackedWheel:
        sha256 = file.sha256
        helpers = self.store.unpacks_in_processes
        if (
            file.is_wheel
            and sha256
            and _fits_in_memory(file, _SEND_LIMIT if helpers else _STREAM_LIMIT)
            and self.store.archive(sha256) is None
        ):
            stopped = self._stopped()

            def fetch(sink: Sink) -> None:
                self.client.download_into(file, _Stoppable(sink, stopped))

            if helpers:  # a helper unpacks it, from memory
                return self.store.unpack_wheel_data(file.filename, sha256, fetch)
            return self.store.unpack_wheel_stream(file.filename, sha256, fetch)
        archive, sha = self.archive(file)
        if file.is_wheel:
            return self.store.unpacked(sha) or self.store.unpack_wheel(
                archive, sha, keep_archive=False
            )
        variant = self._build_variant
        key = variant_key(sha, variant) if variant is not None else None
        built = self.store.built_wheel(key, self._wheel_fits) if key is not None else None
        if built is None:
            tree = self._tree_for_file(file, archive=archive)
            out = self._scratch()
            self.reporter.info(f"Building {file.name}=={file.version} from source")
            built = self.builder.build_wheel(tree, out, source=file.filename)
            if key is not None:
                built = self.store.add_built_wheel(key, built)
        return self._unpack_local_wheel(built)

    def wheel_for_url(self, url: str, *, editable: bool = False) -> UnpackedWheel:
        """An unpacked wheel for a direct URL: an archive, a local directory or a VCS URL."""
        file = self._direct_file(url)
        if file is not None and not editable:
            return self.wheel(file)
        key = self._build_key(url) if not editable else None
        if key is not None:
            cached = self.store.built_wheel(key, self._wheel_fits)
            if cached is not None:
                return self._unpack_local_wheel(cached)
        tree = self.editable_tree(url) if editable else self._tree_for_url(url)
        self.reporter.info(f"Building {url}")
        wheel = self.builder.build_wheel(tree, self._scratch(), editable=editable, source=url)
        if key is not None:
            wheel = self.store.add_built_wheel(key, wheel)
        return self._unpack_local_wheel(wheel)

    def editable_tree(self, url: str) -> Path:
        """The directory an editable install of ``url`` runs from.

        A local directory is itself; a git URL is cloned and the checkout kept in
        ``src_dir/<name>`` (as pip does), so the install does not point into a
        directory that is removed when the command ends.
        """
        if not url.startswith("git+"):
            return self._tree_for_url(url)
        with self._lock:
            kept = self._kept.get(url)
        if kept is not None:
            return kept
        from cloche.adapters.build.vcs import keep_checkout, parse_vcs_url

        if self._src_dir is None:
            raise UsageError(
                f"cannot install {redact(url)} editable: there is no directory to keep its "
                "checkout in (pass --src DIR)"
            )
        tree = self._tree_for_url(url)
        subdirectory = parse_vcs_url(url).subdirectory
        clone = tree
        for _part in PurePosixPath(subdirectory or ".").parts:
            clone = clone.parent
        dest = self._src_dir / normalize(self._url_metadata(url).name)
        keep_checkout(clone, dest)
        kept = dest / subdirectory if subdirectory else dest
        self.reporter.info(f"Checked out {redact(url)} into {dest}")
        with self._lock:
            self._kept[url] = kept
            self._trees[url] = kept
        return kept

    def _stopped(self) -> threading.Event | None:
        """Set when a fetch ahead is no longer needed (see ``fetching_ahead``)."""
        ahead = self._ahead
        return ahead.stopped if ahead is not None else None

    @property
    def builder(self) -> SourceBuilder:
        with self._builder_lock:
            if self._builder is None:
                self._builder = self._make_builder()
            return self._builder

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()
        shutil.rmtree(self._work, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------
    def _unpack_local_wheel(self, wheel: Path) -> UnpackedWheel:
        unpacked = self.store.unpacked_file(wheel)
        if unpacked is not None:
            return unpacked
        archive, sha = self.store.add_archive(wheel, wheel.name, move=False)
        return self.store.unpack_wheel(archive, sha, keep_archive=False)

    def _scratch(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self._work))

    def _tree_for_file(self, file: DistFile, *, archive: Path | None = None) -> Path:
        if archive is None:
            archive, _sha = self.archive(file)
        key = file.sha256 or file.url
        with self._lock:
            tree = self._trees.get(key)
        if tree is None:
            from cloche.adapters.build.sdist import unpack_sdist

            tree = unpack_sdist(archive, self._scratch())
            with self._lock:
                self._trees[key] = tree
        return tree

    def _direct_file(self, url: str) -> DistFile | None:
        """A DistFile for a URL that names an archive (wheel or sdist); None otherwise."""
        if url.startswith(("git+", "hg+", "svn+", "bzr+")):
            return None
        split = urlsplit(url)
        if split.scheme == "file" and local_path(url).is_dir():
            return None
        filename = unquote(split.path.rsplit("/", 1)[-1])
        parsed = parse_dist_filename(filename)
        if parsed is None:
            return None
        fragment = dict(p.split("=", 1) for p in split.fragment.split("&") if "=" in p)
        hashes = tuple((k, v) for k, v in fragment.items() if k in ("sha256",))
        base_url = url.split("#", 1)[0]
        return DistFile(
            name=parsed[0],
            version=parsed[1],
            filename=filename,
            url=base_url,
            index=base_url,
            hashes=hashes,
        )

    def _tree_for_url(self, url: str) -> Path:
        with self._lock:
            tree = self._trees.get(url)
        if tree is not None:
            return tree
        split = urlsplit(url)
        if url.startswith("git+"):
            from cloche.adapters.build.vcs import clone_vcs

            tree = clone_vcs(url, self._scratch())
        elif split.scheme == "file" and local_path(url).is_dir():
            tree = local_path(url)
        else:
            file = self._direct_file(url)
            if file is None:
                raise UsageError(
                    f"cannot install from {url}: not a wheel, sdist, directory or git URL"
                )
            if file.is_wheel:
                raise BuildError(
                    f"{file.filename} is a wheel; it cannot be built or installed editable"
                )
            tree = self._tree_for_file(file)
        with self._lock:
            self._trees[url] = tree
        return tree

    def _build_key(self, url: str) -> str | None:
        """A cache key for a build from ``url``; None when the source may change
        (directories) or builds are not kept."""
        if self._build_variant is None:
            return None
        commit = self.vcs_commit(url)  # the checkout's own HEAD: no second trip to the remote
        if commit is None:
            return None
        source = "vcs-" + hashlib.sha256(f"{url}@{commit}".encode()).hexdigest()
        return variant_key(source, self._build_variant)


class _Unseen:
    """A PickFiles that passes on only releases whose metadata nobody asked for yet."""

    def __init__(self, sources: Sources, pick: PickFiles) -> None:
        self._sources = sources
        self._pick = pick

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> list[DistFile]:
        return self._sources._unseen_releases(self._pick(name, files))

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        self._pick.on_metadata(file, metadata)


class _Stoppable:
    """A sink (see ``Sink``) whose download stops when ``stopped`` is set."""

    def __init__(self, sink: Sink, stopped: threading.Event | None) -> None:
        self._sink = sink
        self._stopped = stopped
        self.restart = sink.restart

    def write(self, chunk: bytes) -> None:
        if self._stopped is not None and self._stopped.is_set():
            raise Stopped
        self._sink.write(chunk)


def _fits_in_memory(file: DistFile, limit: int) -> bool:
    """Small enough to hold in memory while it downloads and unpacks."""
    return file.size is not None and file.size <= limit


@contextmanager
def open_sources(
    settings: Settings,
    interpreter: Interpreter | Callable[[], Interpreter],
    reporter: Reporter | None = None,
    *,
    src_dir: Path | None = None,
) -> Iterator[Sources]:
    """Everything a command needs to find and produce distributions, closed on exit.

    Source builds use ``interpreter`` as the base of their isolated environments;
    editable VCS checkouts are kept in ``src_dir`` (see ``Sources``).
    """
    from cloche.ops.buildenv import IsolatedBuildEnvs

    reporter = reporter or NullReporter()
    with ExitStack() as stack:
        client = stack.enter_context(IndexClient(settings, reporter=reporter))
        store = Store(settings.cache_dir)
        envs = IsolatedBuildEnvs(interpreter, settings, reporter)

        isolated = not settings.no_build_isolation
        config = config_settings(settings.config_settings)

        def builder() -> SourceBuilder:
            from cloche.adapters.build.backend import SourceBuilder

            if isolated:
                return SourceBuilder(envs, reporter=reporter, config_settings=config)
            python = Path(envs.base.executable)  # the target itself
            return SourceBuilder(
                None, isolated=False, python=python, reporter=reporter, config_settings=config
            )

        sources = Sources(
            client,
            store,
            builder,
            reporter,
            build_variant=build_variant(settings),
            build_python=lambda: envs.base,
            src_dir=src_dir,
        )
        envs.bind(sources)
        stack.callback(sources.close)
        yield sources
