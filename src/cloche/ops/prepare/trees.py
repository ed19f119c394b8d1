"""Source trees and what building them says: archives in the store, unpacked sdists,
VCS checkouts, local directories, and the metadata a build reports.

Shared by the finder (metadata that only a build can give) and the preparer (wheels
built from source); each tree is made once per command and reused by both.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from cloche.adapters.index.auth import redact
from cloche.adapters.index.download import local_path
from cloche.core.models import DistFile, Interpreter, Metadata, normalize, parse_dist_filename
from cloche.core.models import wheel_fits as tags_fit
from cloche.core.report import NullReporter, Reporter
from cloche.errors import BuildError, UsageError
from cloche.ops.prepare.build_keys import variant_key

if TYPE_CHECKING:
    from cloche.adapters.build.backend import SourceBuilder
    from cloche.adapters.index.cache import MetadataCache
    from cloche.adapters.index.client import IndexClient
    from cloche.adapters.store import Store


class SourceTrees:
    """Archives, source trees and source builds of one command run; thread-safe."""

    def __init__(
        self,
        client: Callable[[], IndexClient],
        store: Callable[[], Store],
        builder: Callable[[], SourceBuilder],
        reporter: Reporter | None = None,
        *,
        build_variant: str | None = "",
        build_python: Callable[[], Interpreter] | None = None,
        src_dir: Path | None = None,
    ) -> None:
        """``client``, ``store`` and ``builder`` are made on first need (most commands build
        nothing, and a compile of wheels alone never touches the store).

        ``build_variant`` is what else shapes a build (see ``build_keys``): built
        wheels are cached per source and variant; with None (builds that depend on the
        environment they ran in, as with ``--no-build-isolation``) they are neither
        reused nor kept. ``build_python`` is the interpreter builds run with (found on
        first use): a build kept for one Python is not used for another, nor is what
        its metadata said (a setup.py may compute its requirements). ``src_dir`` is
        where editable VCS checkouts are kept (pip's ``--src``); without it an
        editable VCS URL is refused.
        """
        self._client = client
        self._store = store
        self._make_builder = builder
        self.build_variant = build_variant
        self._build_python = build_python
        self._builder: SourceBuilder | None = None
        self.reporter: Reporter = reporter or NullReporter()
        self._work: Path | None = None
        """Where ``scratch`` directories go; made on first use (a compile never needs one)."""
        self._lock = threading.Lock()
        self._work_lock = threading.Lock()
        self._builder_lock = threading.Lock()
        self._trees: dict[str, Path] = {}
        """Unpacked/cloned source trees by URL or sdist sha256, reused for metadata then build."""
        self._src_dir = src_dir
        self._kept: dict[str, Path] = {}
        """Editable VCS URL -> its project directory in ``src_dir``."""
        self._unhashed: dict[str, str] = {}
        """URL -> sha256 of archives that came without a hash, once stored."""
        self._url_meta: dict[str, Metadata] = {}

    @property
    def store(self) -> Store:
        return self._store()

    # -- archives ----------------------------------------------------------------------
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
            staged = self._client().download(file, staging)  # checks sha256 as it streams
            return self.store.add_archive(
                staged, file.filename, sha256=sha, move=True, verified=bool(sha)
            )
        finally:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)

    def archive_sha256(self, url: str) -> str:
        """The sha256 of the wheel or sdist a direct URL names (kept in the store)."""
        file = direct_file(url)
        if file is None:
            raise UsageError(f"cannot lock {url}: not a wheel, sdist, directory or git URL")
        return self.archive(file)[1]

    # -- trees -------------------------------------------------------------------------
    def tree_for_file(self, file: DistFile, *, archive: Path | None = None) -> Path:
        """The unpacked source tree of sdist ``file``."""
        if archive is None:
            archive, _sha = self.archive(file)
        key = file.sha256 or file.url
        with self._lock:
            tree = self._trees.get(key)
        if tree is None:
            from cloche.adapters.build.sdist import unpack_sdist

            tree = unpack_sdist(archive, self.scratch())
            with self._lock:
                self._trees[key] = tree
        return tree

    def tree_for_url(self, url: str) -> Path:
        """The source tree a direct URL names: a checkout, a directory or an sdist."""
        with self._lock:
            tree = self._trees.get(url)
        if tree is not None:
            return tree
        split = urlsplit(url)
        if url.startswith("git+"):
            from cloche.adapters.build.vcs import clone_vcs

            tree = clone_vcs(url, self.scratch())
        elif split.scheme == "file" and local_path(url).is_dir():
            tree = local_path(url)
        else:
            file = direct_file(url)
            if file is None:
                raise UsageError(
                    f"cannot install from {url}: not a wheel, sdist, directory or git URL"
                )
            if file.is_wheel:
                raise BuildError(
                    f"{file.filename} is a wheel; it cannot be built or installed editable"
                )
            tree = self.tree_for_file(file)
        with self._lock:
            self._trees[url] = tree
        return tree

    def editable_tree(self, url: str) -> Path:
        """The directory an editable install of ``url`` runs from.

        A local directory is itself; a git URL is cloned and the checkout kept in
        ``src_dir/<name>`` (as pip does), so the install does not point into a
        directory that is removed when the command ends.
        """
        if not url.startswith("git+"):
            return self.tree_for_url(url)
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
        tree = self.tree_for_url(url)
        subdirectory = parse_vcs_url(url).subdirectory
        clone = tree
        for _part in PurePosixPath(subdirectory or ".").parts:
            clone = clone.parent
        dest = self._src_dir / normalize(self.url_metadata(url).name)
        keep_checkout(clone, dest)
        kept = dest / subdirectory if subdirectory else dest
        self.reporter.info(f"Checked out {redact(url)} into {dest}")
        with self._lock:
            self._kept[url] = kept
            self._trees[url] = kept
        return kept

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
            tree = self.tree_for_url(url)
        return head_commit(tree)

    # -- builds ------------------------------------------------------------------------
    @property
    def builder(self) -> SourceBuilder:
        with self._builder_lock:
            if self._builder is None:
                self._builder = self._make_builder()
            return self._builder

    def built_wheel(self, file: DistFile, archive: Path, sha256: str) -> Path:
        """The wheel built from the sdist ``file`` (kept in the store by its hash and the
        build variant, so a second build is a lookup)."""
        variant = self.build_variant
        key = variant_key(sha256, variant) if variant is not None else None
        built = self.store.built_wheel(key, self.wheel_fits) if key is not None else None
        if built is None:
            tree = self.tree_for_file(file, archive=archive)
            self.reporter.info(f"Building {file.name}=={file.version} from source")
            built = self.builder.build_wheel(tree, self.scratch(), source=file.filename)
            if key is not None:
                built = self.store.add_built_wheel(key, built)
        return built

    def build_key(self, url: str) -> str | None:
        """A cache key for a build from ``url``; None when the source may change
        (directories) or builds are not kept."""
        if self.build_variant is None:
            return None
        commit = self.vcs_commit(url)  # the checkout's own HEAD: no second trip to the remote
        if commit is None:
            return None
        source = "vcs-" + hashlib.sha256(f"{url}@{commit}".encode()).hexdigest()
        return variant_key(source, self.build_variant)

    def wheel_fits(self, filename: str) -> bool:
        """Whether a kept build can be installed by the interpreter builds run with."""
        if self._build_python is None:
            return True
        return tags_fit(filename, self._build_python().tags)

    def sdist_metadata(self, file: DistFile, cache: MetadataCache) -> Metadata:
        """What a build of sdist ``file`` says its metadata is (kept per interpreter)."""
        key = None
        if self.build_variant is not None and file.sha256:
            key = self._kept_metadata_key(variant_key(file.sha256, self.build_variant))
        if key is not None:
            cached = cache.load(key)
            if cached is not None and (cached.name, cached.version) == (file.name, file.version):
                return cached
        tree = self.tree_for_file(file)
        built = self.builder.metadata(tree, self.scratch(), source=file.filename)
        if key is not None:
            cache.store(key, built)
        return built

    def url_metadata(self, url: str, cache: MetadataCache | None = None) -> Metadata:
        """What a build of the tree ``url`` names says its metadata is."""
        with self._lock:
            known = self._url_meta.get(url)
        if known is None:
            cache = cache or self._client().metadata_cache
            key = self._kept_metadata_key(self.build_key(url))
            known = cache.load(key) if key is not None else None
            if known is None:
                tree = self.tree_for_url(url)
                known = self.builder.metadata(tree, self.scratch(), source=url)
                if key is not None:
                    cache.store(key, known)
            with self._lock:
                self._url_meta[url] = known
        return known

    def _kept_metadata_key(self, build_key: str | None) -> str | None:
        """Where the metadata a build (``build_key``) reported is kept, per interpreter."""
        python = self._build_python() if self._build_python is not None else None
        if build_key is None or python is None:
            return None
        platform = str(python.tags[0]) if python.tags else ""
        return f"built={build_key}|{python.implementation}-{python.version}|{platform}"

    def scratch(self) -> Path:
        """A new empty directory, removed by ``close``."""
        import tempfile

        with self._work_lock:
            if self._work is None:
                self._work = Path(tempfile.mkdtemp(prefix="cloche-src-"))
            work = self._work
        return Path(tempfile.mkdtemp(dir=work))

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()
        with self._work_lock:
            work, self._work = self._work, None
        if work is not None:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def direct_file(url: str) -> DistFile | None:
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
