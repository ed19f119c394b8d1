"""Writing a bundle: ``wheels/``, a static index in ``simple/``, ``requirements.txt``
with hashes and the lock, built in a temp dir beside the target and renamed into
place (or packed into a tar file), so a bundle is whole or absent."""

from __future__ import annotations

import os
import shutil
import tarfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloche import __version__
from cloche.core.lock.markers import TargetMarkers
from cloche.core.static_index import (
    IndexedFile,
    project_html,
    project_json,
    root_html,
    root_json,
)
from cloche.errors import ClocheError, UsageError
from cloche.ops.bundle.collect import BundledFile

WHEELS = "wheels"
SIMPLE = "simple"


@dataclass(frozen=True, slots=True)
class BundleTarget:
    """Where the bundle goes: a directory, or a tar file (``.tar``, ``.tar.gz``)."""

    path: Path
    tar: bool = False
    force: bool = False

    def refuse_existing(self) -> None:
        if (self.path.exists() or self.path.is_symlink()) and not self.force:
            raise UsageError(f"{self.path} already exists; pass --force to replace it")


def write_bundle(
    target: BundleTarget,
    lock_text: str,
    files: Sequence[BundledFile],
    labels: Sequence[str],
    envs: Sequence[Mapping[str, str]],
) -> None:
    """Write the bundle whole into ``target`` (replacing it only with ``force``)."""
    target.refuse_existing()
    destination = target.path.absolute()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.parent / f".{destination.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        _fill(staging, lock_text, files, labels, envs)
        if target.tar:
            packed = staging.with_name(staging.name + ".tar")
            _pack(staging, packed, destination)
            _replace(packed, destination)
        else:
            _replace(staging, destination)
    except OSError as exc:
        raise ClocheError(f"cannot write the bundle {destination}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        staging.with_name(staging.name + ".tar").unlink(missing_ok=True)


def _replace(new: Path, destination: Path) -> None:
    if not destination.exists() and not destination.is_symlink():
        new.rename(destination)
        return
    old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
    destination.rename(old)
    new.rename(destination)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def _pack(tree: Path, packed: Path, destination: Path) -> None:
    name = destination.name
    mode = "w:gz" if name.endswith((".tar.gz", ".tgz")) else "w"
    top = name.removesuffix(".gz").removesuffix(".tgz").removesuffix(".tar") or "bundle"
    with tarfile.open(packed, mode) as archive:  # type: ignore[call-overload]
        archive.add(tree, arcname=top)


def _fill(
    root: Path,
    lock_text: str,
    files: Sequence[BundledFile],
    labels: Sequence[str],
    envs: Sequence[Mapping[str, str]],
) -> None:
    wheels = root / WHEELS
    wheels.mkdir()
    indexed: dict[str, list[IndexedFile]] = defaultdict(list)
    versions: dict[str, set[str]] = defaultdict(set)
    for bundled in files:
        name = bundled.path.name
        shutil.copyfile(bundled.path, wheels / name)
        project = str(bundled.file.name)
        size = bundled.path.stat().st_size
        indexed[project].append(IndexedFile(project, name, bundled.sha256, size))
        versions[project].add(str(bundled.file.version))
    simple = root / SIMPLE
    simple.mkdir()
    projects = sorted(indexed)
    (simple / "index.html").write_text(root_html(projects), "utf-8")
    (simple / "index.json").write_text(root_json(projects), "utf-8")
    for project in projects:
        page = simple / project
        page.mkdir()
        listed = sorted(indexed[project], key=lambda f: f.filename)
        (page / "index.html").write_text(project_html(project, listed, WHEELS), "utf-8")
        ordered = sorted(versions[project])
        (page / "index.json").write_text(project_json(project, listed, ordered, WHEELS), "utf-8")
    (root / "pylock.toml").write_text(lock_text, "utf-8")
    (root / "requirements.txt").write_text(requirements_text(files, labels, envs), "utf-8")


def requirements_text(
    files: Sequence[BundledFile], labels: Sequence[str], envs: Sequence[Mapping[str, str]]
) -> str:
    """Every package pinned, with the sha256 of each of its files in the bundle and a
    marker naming the targets it is for (pip's hash-checking mode)."""
    markers = TargetMarkers(list(labels), envs)
    packages: dict[tuple[str, str], list[BundledFile]] = defaultdict(list)
    for bundled in files:
        packages[(str(bundled.file.name), str(bundled.file.version))].append(bundled)
    lines = [
        f"# Written by cloche {__version__} (cloche bundle) for: {', '.join(labels)}.",
        f"# pip install --no-index --find-links {WHEELS} -r requirements.txt",
    ]
    for (name, version), group in sorted(packages.items()):
        members = sorted({index for bundled in group for index in bundled.targets})
        marker = markers.subset(members)
        hashes = sorted({bundled.sha256 for bundled in group})
        lines.append(f"{name}=={version}" + (f" ; {marker}" if marker else "") + " \\")
        lines += [f"    --hash=sha256:{digest} \\" for digest in hashes[:-1]]
        lines.append(f"    --hash=sha256:{hashes[-1]}")
    return "".join(f"{line}\n" for line in lines)
