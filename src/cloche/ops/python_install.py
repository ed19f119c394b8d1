"""``cloche python install|uninstall`` and ``--python X`` that installs X when none is found."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.python.discovery import find_interpreter, probe
from cloche.adapters.python.places import managed_root
from cloche.adapters.python.request import PythonRequest, parse_request
from cloche.config import Settings
from cloche.core.models import Interpreter
from cloche.core.report import NullReporter, Reporter
from cloche.errors import ClocheError, InterpreterNotFound, UsageError

if TYPE_CHECKING:
    # The download modules (urllib, tarfile) load only when something is installed.
    from cloche.adapters.python import downloads, managed


@dataclass(frozen=True, slots=True)
class Installed:
    """The outcome of one ``python install`` request."""

    python: managed.ManagedPython
    build: downloads.Build | None
    """None when a matching install was already there (nothing downloaded)."""


def _download_request(text: str) -> PythonRequest:
    parsed = parse_request(text)
    if parsed.path is not None:
        raise UsageError(f"{text!r} is a path; 'cloche python install' takes a version (3.12)")
    if parsed.implementation not in (None, "cpython"):
        raise UsageError(
            f"cloche installs CPython builds only; install {parsed.implementation} "
            "another way (pyenv) and pass --python PATH"
        )
    return parsed


def _choose(request: PythonRequest, settings: Settings, release: str | None) -> downloads.Build:
    from cloche.adapters.python import downloads

    mirror = downloads.mirror_url(settings.python_mirror)
    tag = release or downloads.latest_tag(mirror)
    builds = downloads.release_builds(mirror, tag)
    for build in builds:  # newest first
        if request.specifier is None or request.specifier.contains(build.version, prereleases=True):
            return build
    older = "" if release else "; an older patch release needs --release TAG"
    raise InterpreterNotFound(
        f"no CPython matching {request.text!r} in release {tag} of {mirror} "
        f"(it has: {downloads.versions_text(builds)}{older})"
    )


def install_python(
    text: str,
    settings: Settings,
    *,
    release: str | None = None,
    reinstall: bool = False,
) -> Installed:
    """Install the newest CPython build matching ``text`` into the managed directory."""
    if settings.python_downloads == "never":
        raise UsageError(
            "python-downloads is 'never': cloche does not download interpreters",
            hint='set python-downloads = "manual" in cloche.toml (or '
            "CLOCHE_PYTHON_DOWNLOADS=manual) to allow 'cloche python install'",
        )
    from cloche.adapters.python import downloads, managed

    request = _download_request(text)
    root = managed_root()
    if not reinstall and release is None:
        for have in managed.installed(root):
            if request.specifier is None or request.specifier.contains(
                have.version, prereleases=True
            ):
                return Installed(have, None)
    build = _choose(request, settings, release)
    mirror = downloads.mirror_url(settings.python_mirror)
    return Installed(managed.install(build, mirror, root, replace=reinstall), build)


def uninstall_python(text: str) -> list[managed.ManagedPython]:
    """Remove every managed install matching ``text``; none lists what there is."""
    from cloche.adapters.python import managed

    request = _download_request(text)
    root = managed_root()
    have = managed.installed(root)
    matching = [
        m
        for m in have
        if request.specifier is None or request.specifier.contains(m.version, prereleases=True)
    ]
    if not matching:
        listed = ", ".join(str(m.version) for m in have) or "none"
        raise UsageError(
            f"no cloche-managed Python matching {text!r} in {root} (installed: {listed})"
        )
    for found in matching:
        managed.uninstall(found)
    return matching


def find_or_install(
    request: str | None,
    settings: Settings,
    reporter: Reporter | None = None,
) -> Interpreter:
    """``find_interpreter``, but with ``python-downloads = automatic`` a version that is
    not found is installed from the mirror (not offline, CPython only)."""
    try:
        return find_interpreter(request, cache_dir=settings.cache_dir)
    except InterpreterNotFound as missing:
        if request is None or settings.python_downloads != "automatic" or settings.offline:
            raise
        try:
            parsed = parse_request(request)
        except InterpreterNotFound:
            raise missing from None
        if parsed.path is not None or parsed.implementation not in (None, "cpython"):
            raise
        try:
            done = install_python(request, settings)
        except ClocheError as failed:
            raise InterpreterNotFound(
                f"{missing}; downloading one failed: {failed}", hint=missing.hint
            ) from None
    (reporter or NullReporter()).info(
        f"Installed Python {done.python.version} at {done.python.path} "
        "(python-downloads = automatic)"
    )
    return probe(Path(done.python.executable), settings.cache_dir)
