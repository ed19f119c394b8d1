"""Git sources: ``git+<transport>://host/repo[@rev][#subdirectory=..&egg=..]`` URLs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cloche.errors import BuildError

_TRANSPORTS = frozenset({"https", "http", "file", "ssh", "git"})
_OTHER_VCS = ("hg+", "svn+", "bzr+")
_HEX = re.compile(r"[0-9a-fA-F]{7,64}")
_FULL_COMMIT = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_STDERR_LINES = 3


@dataclass(frozen=True, slots=True)
class VcsUrl:
    """A parsed git requirement URL."""

    repository: str
    """What git clones: the URL without ``git+``, revision and fragment (may hold credentials)."""
    revision: str | None = None
    subdirectory: str | None = None
    egg: str | None = None

    @property
    def display(self) -> str:
        """The repository URL with any credentials replaced by ``****``."""
        return redact_url(self.repository)

    @property
    def secret(self) -> str | None:
        """The userinfo part of the URL when it may be a secret (not plain ``git@``)."""
        netloc = urlsplit(self.repository).netloc
        userinfo, at, _host = netloc.rpartition("@")
        return userinfo if at and userinfo != "git" else None


def redact_url(url: str) -> str:
    """``url`` with its userinfo hidden, except the conventional ``git@`` ssh user."""
    split = urlsplit(url)
    userinfo, at, host = split.netloc.rpartition("@")
    if not at or userinfo == "git":
        return url
    return urlunsplit((split.scheme, f"****@{host}", split.path, split.query, split.fragment))


def parse_vcs_url(url: str) -> VcsUrl:
    """Split a ``git+...`` URL into repository, revision, subdirectory and egg name."""
    if url.lower().startswith(_OTHER_VCS):
        shown = redact_url(url.partition("+")[2])
        raise BuildError(f"cannot fetch {shown}: only git URLs (git+...) are supported")
    if not url.lower().startswith("git+"):
        raise BuildError(
            f"{redact_url(url)} is not a git URL; write it as git+https://host/repo.git"
        )
    split = urlsplit(url[4:])
    if split.scheme.lower() not in _TRANSPORTS or (split.scheme != "file" and not split.netloc):
        raise BuildError(
            f"unsupported git URL {redact_url(url)}: use git+https://, git+ssh://, "
            "git+git:// or git+file://"
        )
    path, revision = split.path, None
    if "@" in path:
        path, _, revision = path.rpartition("@")
        if not revision:
            raise BuildError(f"git URL {redact_url(url)} has an empty revision after '@'")
    fragment = parse_qs(split.fragment)
    subdirectory = fragment.get("subdirectory", [None])[0]
    if subdirectory is not None:
        parts = [p for p in subdirectory.replace("\\", "/").split("/") if p not in ("", ".")]
        if subdirectory.startswith(("/", "\\")) or ".." in parts or not parts:
            raise BuildError(
                f"git URL {redact_url(url)} has subdirectory={subdirectory!r}; "
                "it must be a relative path inside the repository"
            )
        subdirectory = "/".join(parts)
    repository = urlunsplit((split.scheme, split.netloc, path, split.query, ""))
    return VcsUrl(repository, revision, subdirectory, fragment.get("egg", [None])[0])


def clone_vcs(url: str, dest: Path) -> Path:
    """Clone a git URL into ``dest`` at its revision; return the project directory.

    Branches and tags are cloned shallow; a commit (or ``refs/...``) needs a full
    clone and a checkout. ``dest`` must be missing or empty.
    """
    vcs = parse_vcs_url(url)
    rev = vcs.revision
    what = f"cannot clone {vcs.display}" + (f" at {rev}" if rev else "")
    if dest.exists() and any(dest.iterdir()):
        raise BuildError(f"{what}: {dest} is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if rev is None:
        _git(["clone", "--quiet", "--depth", "1", "--", vcs.repository, str(dest)], vcs, what)
    elif _HEX.fullmatch(rev) or rev.startswith("refs/"):
        _git(
            ["clone", "--quiet", *_filter(vcs), "--no-checkout", "--", vcs.repository, str(dest)],
            vcs,
            what,
        )
        _checkout(vcs, rev, dest, what)
    else:
        clone = [
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--branch",
            rev,
            "--",
            vcs.repository,
            str(dest),
        ]
        _git(clone, vcs, what)
    if (dest / ".gitmodules").exists():
        _git(["submodule", "update", "--quiet", "--init", "--recursive"], vcs, what, cwd=dest)
    if vcs.subdirectory is None:
        return dest
    project = dest / vcs.subdirectory
    if not project.is_dir():
        raise BuildError(
            f"{what}: subdirectory {vcs.subdirectory!r} does not exist in the repository"
        )
    return project


def _filter(vcs: VcsUrl) -> list[str]:
    # Blobless clones keep full history cheap; local file:// servers may not support it.
    return [] if vcs.repository.startswith("file:") else ["--filter=blob:none"]


def _checkout(vcs: VcsUrl, rev: str, dest: Path, what: str) -> None:
    if not rev.startswith("refs/"):
        try:
            _git(["checkout", "--quiet", rev, "--"], vcs, what, cwd=dest)
            return
        except BuildError:
            # Not reachable from a branch or tag: servers may still give it by name.
            pass
    _git(["fetch", "--quiet", "origin", rev], vcs, what, cwd=dest)
    _git(["checkout", "--quiet", "FETCH_HEAD", "--"], vcs, what, cwd=dest)


def pinned_commit(url: str) -> str | None:
    """The full commit id a git URL names itself (``@<sha>``), known without the network."""
    revision = parse_vcs_url(url).revision
    return revision.lower() if revision and _FULL_COMMIT.fullmatch(revision) else None


def resolve_vcs_commit(url: str) -> str:
    """The full commit id a git URL points at (for direct_url.json and lockfiles)."""
    vcs = parse_vcs_url(url)
    rev = vcs.revision
    what = f"cannot resolve {vcs.display}" + (f" at {rev}" if rev else "")
    pinned = pinned_commit(url)
    if pinned is not None:
        return pinned
    # Peeled tags (``^{}``, the commit an annotated tag points at) need their own pattern.
    patterns = [rev, f"{rev}^{{}}"] if rev else ["HEAD"]
    listing = _git(["ls-remote", "--", vcs.repository, *patterns], vcs, what)
    refs: dict[str, str] = {}
    for line in listing.splitlines():
        commit, _, ref = line.partition("\t")
        refs[ref.strip()] = commit.strip()
    if rev is None:
        wanted = ["HEAD"]
    elif rev.startswith("refs/"):
        wanted = [f"{rev}^{{}}", rev]
    else:
        wanted = [f"refs/heads/{rev}", f"refs/tags/{rev}^{{}}", f"refs/tags/{rev}"]
    for ref in wanted:
        if ref in refs:
            return refs[ref]
    if rev is not None and _HEX.fullmatch(rev):
        return _resolve_abbreviated(vcs, rev, what)
    raise BuildError(f"{what}: no branch, tag or commit named {rev or 'HEAD'} in the repository")


def _resolve_abbreviated(vcs: VcsUrl, rev: str, what: str) -> str:
    with tempfile.TemporaryDirectory(prefix="cloche-git-") as tmp:
        bare = Path(tmp) / "repo.git"
        _git(
            ["clone", "--quiet", "--bare", *_filter(vcs), "--", vcs.repository, str(bare)],
            vcs,
            what,
        )
        return _git(
            ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], vcs, what, cwd=bare
        ).strip()


def keep_checkout(clone: Path, dest: Path) -> None:
    """Move the clone made by :func:`clone_vcs` in ``clone`` to ``dest``, where it stays
    (pip keeps editable VCS checkouts in ``<venv>/src/<name>``).

    A clean git checkout already at ``dest`` is replaced, as pip updates it; anything
    else there (local changes, not a checkout) is left alone and refused.
    """
    if dest.exists() or dest.is_symlink():
        refuse = f"cannot keep the checkout in {dest}"
        if not (dest / ".git").exists():
            raise BuildError(
                f"{refuse}: it exists and is not a git checkout",
                hint=f"move it away, or install it with -e {dest}",
            )
        vcs = VcsUrl(repository=str(dest))
        if _local_changes(_git(["status", "--porcelain"], vcs, refuse, cwd=dest)):
            raise BuildError(
                f"{refuse}: it has local changes",
                hint=f"commit or discard them, or install it with -e {dest}",
            )
        old = dest.with_name(f".{dest.name}.replaced-{os.getpid()}")
        dest.rename(old)
        try:
            shutil.move(str(clone), str(dest))
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            old.rename(dest)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(clone), str(dest))


_BUILD_LEFTOVERS = (".egg-info/", "build/", "__pycache__/", ".eggs/")
"""Untracked paths a build of the checkout writes itself (setuptools' egg-info above
all): a checkout holding only these is still clean."""


def _local_changes(porcelain: str) -> bool:
    """Whether ``git status --porcelain`` lists anything but build leftovers."""
    for line in porcelain.splitlines():
        path = line[3:]
        if line.startswith("?? ") and path.endswith(_BUILD_LEFTOVERS):
            continue
        if line.strip():
            return True
    return False


def checkout_url(project: Path, egg: str) -> str | None:
    """``git+<origin>@<commit>#egg=..`` for a project directory inside a git checkout
    with an ``origin`` remote (what pip freeze writes for an editable VCS install);
    None when it is not one, or git cannot tell."""
    if shutil.which("git") is None:
        return None
    vcs = VcsUrl(repository=str(project))
    try:
        top = _git(["rev-parse", "--show-toplevel"], vcs, "", cwd=project).strip()
        origin = _git(["remote", "get-url", "origin"], vcs, "", cwd=project).strip()
        commit = _git(["rev-parse", "HEAD"], vcs, "", cwd=project).strip()
    except (BuildError, OSError):
        return None
    if not (top and origin and commit):
        return None
    url = f"git+{redact_url(origin)}@{commit}#egg={egg}"
    inside = Path(os.path.relpath(project.resolve(), Path(top).resolve())).as_posix()
    return url if inside == "." else f"{url}&subdirectory={inside}"


def head_commit(checkout: Path) -> str:
    """The commit checked out in a clone made by :func:`clone_vcs` (any directory inside it)."""
    vcs = VcsUrl(repository=str(checkout))
    return _git(
        ["rev-parse", "HEAD"], vcs, f"cannot read the commit of {checkout}", cwd=checkout
    ).strip()


def _git(args: Sequence[str], vcs: VcsUrl, what: str, *, cwd: Path | None = None) -> str:
    """Run git without prompting; on failure raise ``what`` plus git's last stderr lines."""
    git = shutil.which("git")
    if git is None:
        raise BuildError(f"{what}: git is not installed; install git and try again")
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GCM_INTERACTIVE"] = "never"
    env["LC_ALL"] = "C"
    proc = subprocess.run(
        [git, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        detail = "; ".join(lines[-_STDERR_LINES:]) or f"git {args[0]} exited with {proc.returncode}"
        if vcs.secret:
            detail = detail.replace(vcs.repository, vcs.display).replace(vcs.secret, "****")
        raise BuildError(f"{what}: {detail}", hint="check the URL, the revision and your access")
    return proc.stdout
