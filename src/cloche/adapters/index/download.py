"""Downloads: streamed to a temp file beside the target, hash-checked, then renamed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import unquote, urlsplit

from cloche.adapters.index.auth import redact
from cloche.adapters.index.http import HttpTransport, host_of
from cloche.core.digests import sha256_hex
from cloche.core.models import DistFile, Hashes
from cloche.core.report import Reporter
from cloche.errors import HashMismatchError, IndexResponseError

_BLOCK = 1 << 20


def local_path(url: str) -> Path:
    """The filesystem path of a file:// URL."""
    path = urlsplit(url).path
    if os.name == "nt":  # pragma: no cover - /C:/dir/x.whl -> C:\\dir\\x.whl
        import nturl2path

        return Path(nturl2path.url2pathname(path))
    # urllib.request.url2pathname would do, but importing it costs ~40 ms.
    return Path(unquote(path))


def filename_of(url: str) -> str:
    """The last path segment of a URL, unquoted."""
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


class _Hasher:
    """Every checkable hash of a file, computed while it streams past."""

    def __init__(self, hashes: Hashes) -> None:
        import hashlib  # loads OpenSSL: only when a file is fetched

        self.expected = [(a, d) for a, d in hashes if a in hashlib.algorithms_guaranteed]
        self._digests = {a: hashlib.new(a) for a, _ in self.expected}

    def update(self, chunk: bytes) -> None:
        for digest in self._digests.values():
            digest.update(chunk)

    def reset(self) -> None:
        import hashlib

        self._digests = {a: hashlib.new(a) for a, _ in self.expected}

    def check(self, filename: str, url: str) -> None:
        for algo, want in self.expected:
            got = self._digests[algo].hexdigest()
            if got != want.lower():
                raise HashMismatchError(
                    f"hash mismatch for {filename} from {redact(url)}: expected {algo} {want}, "
                    f"got {got}; the file is corrupt or was replaced, do not install it"
                )


class Sink(Protocol):
    """Where a download's bytes go as they arrive."""

    def write(self, chunk: bytes, /) -> object: ...

    def restart(self) -> None:
        """Forget what was written: the download starts over."""


class _FileSink:
    def __init__(self, out: IO[bytes]) -> None:
        self.write = out.write
        self._out = out

    def restart(self) -> None:
        self._out.seek(0)
        self._out.truncate()


class Downloader:
    """Fetches files (http(s) or file://) into a directory, checking their hashes."""

    def __init__(self, transport: HttpTransport, archive_cache: Path, reporter: Reporter) -> None:
        self._transport = transport
        self._archive_cache = archive_cache
        self._reporter = reporter

    def fetch(self, url: str, dest_dir: Path, *, filename: str, hashes: Hashes = ()) -> Path:
        """``url`` saved as ``dest_dir/filename``, checked against every known hash."""
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / filename
        import tempfile  # here: an offline resolve downloads nothing

        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
        tmp = Path(tmp_name)
        hasher = _Hasher(hashes)
        try:
            with os.fdopen(fd, "wb") as out:
                self._fetch(url, _FileSink(out), hasher, filename)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise _save_failed(filename, dest_dir, exc) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target

    def fetch_into(self, url: str, sink: Sink, *, filename: str, hashes: Hashes = ()) -> None:
        """Stream ``url`` into ``sink``; returns once every known hash is checked."""
        self._fetch(url, sink, _Hasher(hashes), filename)

    def _fetch(self, url: str, sink: Sink, hasher: _Hasher, filename: str) -> None:
        if url.startswith("file:"):
            self._copy_local(url, sink, hasher)
        else:
            self._stream(url, sink, hasher, filename)
        hasher.check(filename, url)

    def cached_archive(self, file: DistFile) -> Path:
        """``file`` in the index client's own archive cache, downloaded on first use."""
        key = file.sha256 or sha256_hex(file.url.encode())
        directory = self._archive_cache / key[:2] / key
        cached = directory / file.filename
        if cached.is_file():
            return cached
        return self.fetch(file.url, directory, filename=file.filename, hashes=file.hashes)

    def cached_copy(self, file: DistFile) -> Path | None:
        """A copy already in the archive cache (from a metadata download), if any."""
        key = file.sha256 or sha256_hex(file.url.encode())
        cached = self._archive_cache / key[:2] / key / file.filename
        return cached if cached.is_file() else None

    def _copy_local(self, url: str, out: Sink, hasher: _Hasher) -> None:
        path = local_path(url)
        try:
            with path.open("rb") as src:
                for block in iter(lambda: src.read(_BLOCK), b""):
                    hasher.update(block)
                    out.write(block)
        except FileNotFoundError:
            raise IndexResponseError(
                f"{path} does not exist; check the find-links or index location"
            ) from None

    def _stream(self, url: str, out: Sink, hasher: _Hasher, filename: str) -> None:
        task: list[int] = []

        def restart() -> None:
            out.restart()
            hasher.reset()

        def on_start(total: int | None) -> None:
            if not task:
                task.append(self._reporter.started(f"Downloading {filename}", total, unit="B"))

        def write(chunk: bytes) -> None:
            hasher.update(chunk)
            out.write(chunk)
            if task:
                self._reporter.advanced(task[0], len(chunk))

        try:
            response = self._transport.download(url, write, restart=restart, on_start=on_start)
        finally:
            if task:
                self._reporter.finished(task[0])
        if response.status != 200:
            where = redact(url)
            if response.status in (404, 410):
                raise IndexResponseError(
                    f"{where} is gone (HTTP {response.status} from {host_of(where)}); "
                    "the index listing may be stale, retry with --refresh"
                )
            raise IndexResponseError(f"downloading {where} failed with HTTP {response.status}")


def copy_into(source: Path, dest_dir: Path, filename: str) -> Path:
    """Link (or copy) ``source`` into ``dest_dir/filename`` atomically."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / filename
    import tempfile  # here: an offline resolve downloads nothing

    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            import shutil

            shutil.copyfile(source, tmp)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _save_failed(filename, dest_dir, exc) from None
    return target


def _save_failed(filename: str, dest_dir: Path, exc: OSError) -> IndexResponseError:
    return IndexResponseError(f"cannot save {filename} into {dest_dir}: {exc.strerror or exc}")
