"""The ``cloche`` field of a Ray runtime_env: what users write, and what travels to nodes.

Users name a lock on the driver's disk (``{"lock": "pylock.toml"}``, ``{"project":
"."}``) or a ``cloche bundle`` (``{"bundle": "/shared/b" or "https://..."}``, whose
files the nodes then fetch instead of the lock's URLs), with ``groups`` and a
shared ``cache``. On the driver that becomes the wire
form, the lock's text itself (``{"lock_text": ..., "source": ...}``), so every node
installs the same bytes and none reads the driver's files or re-resolves. Nothing
here imports Ray.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloche.core.lock.toml_reader import parse_lock
from cloche.core.project.spec import LOCKFILE
from cloche.errors import ClocheError, UsageError

FIELD = "cloche"
DRIVER_KEYS = ("lock", "project", "bundle", "groups", "cache")
WIRE_KEYS = ("lock_text", "source", "groups", "cache", "bundle")
SOURCES = ("lock", "project", "bundle")
BUNDLE_LOCK = "pylock.toml"
HOOK = "cloche.integrations.ray_plugin.resolve_runtime_env"


class RayFieldError(UsageError, ValueError):
    """A ``cloche`` runtime_env field that cannot be used (a ValueError, as Ray expects)."""


@dataclass(frozen=True, slots=True)
class ClocheField:
    """The wire form: a lock's text, the groups to add to its defaults, the cache to use."""

    lock_text: str
    source: str = LOCKFILE
    groups: tuple[str, ...] = ()
    cache: str | None = None
    bundle: str | None = None
    """Where the nodes take the lock's files from: a bundle's directory or URL."""

    @property
    def uri_hash(self) -> str:
        """The env's name across the cluster: the lock's bytes and the groups."""
        inputs = {"lock": self.lock_text, "groups": sorted(set(self.groups))}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def wire(self) -> dict[str, Any]:
        value: dict[str, Any] = {"lock_text": self.lock_text, "source": self.source}
        if self.groups:
            value["groups"] = list(self.groups)
        if self.cache is not None:
            value["cache"] = self.cache
        if self.bundle is not None:
            value["bundle"] = self.bundle
        return value


def _fail(message: str) -> RayFieldError:
    return RayFieldError(f"runtime_env['{FIELD}']: {message}")


def _check_dict(value: object, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(f"must be a dict such as {{'lock': 'pylock.toml'}}, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise _fail(f"unknown key(s) {', '.join(map(repr, unknown))}; expected: {', '.join(keys)}")
    return value


def _groups(value: Mapping[str, Any]) -> tuple[str, ...]:
    groups = value.get("groups", ())
    if not isinstance(groups, list | tuple) or not all(isinstance(g, str) for g in groups):
        raise _fail(f"'groups' must be a list of group names, got {groups!r}")
    return tuple(groups)


def _cache(value: Mapping[str, Any]) -> str | None:
    cache = value.get("cache")
    if cache is None:
        return None
    if not isinstance(cache, str) or not Path(cache).is_absolute():
        raise _fail(f"'cache' must be an absolute path shared by the nodes, got {cache!r}")
    return cache


def _bundle(value: Mapping[str, Any]) -> str | None:
    bundle = value.get("bundle")
    if bundle is None:
        return None
    if isinstance(bundle, Path):
        bundle = str(bundle)
    if not isinstance(bundle, str) or not (
        bundle.lower().startswith(("http://", "https://")) or Path(bundle).is_absolute()
    ):
        raise _fail(
            f"'bundle' must be an http(s) URL or an absolute path the nodes share, got {bundle!r}"
        )
    return bundle.rstrip("/") or bundle


def _bundle_lock(bundle: str) -> tuple[str, str]:
    """The bundle's lock, read on the driver: its text and its name in messages."""
    source = f"{bundle}/{BUNDLE_LOCK}"
    if not bundle.lower().startswith(("http://", "https://")):
        path = Path(bundle)
        if path.is_file():
            raise _fail(f"bundle {path} is a file: unpack it where the nodes see it")
        if not path.is_dir():
            raise _fail(f"bundle directory {path} does not exist on the driver")
        try:
            return (path / BUNDLE_LOCK).read_text(encoding="utf-8"), source
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read the bundle's lock {source}: {exc}") from None
    import urllib.request

    try:
        with urllib.request.urlopen(source, timeout=30) as response:
            return response.read().decode("utf-8"), source
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read the bundle's lock {source}: {exc}") from None


def _source_key(value: Mapping[str, Any]) -> str:
    given = [name for name in SOURCES if name in value]
    if len(given) != 1:
        raise _fail(
            "give exactly one of 'lock' (a pylock.toml), 'project' (its directory) "
            "or 'bundle' (a 'cloche bundle' directory or URL)"
        )
    return given[0]


def _lock_file(value: Mapping[str, Any], cwd: Path) -> Path:
    name = _source_key(value)
    has_project = name == "project"
    where = value[name]
    if not isinstance(where, str | Path):
        raise _fail(f"'{name}' must be a path, got {type(where).__name__}")
    path = cwd / Path(where)
    if has_project:
        if not path.is_dir():
            raise _fail(f"project directory {path} does not exist on the driver")
        path = path / LOCKFILE
        if not path.is_file():
            raise _fail(f"no {LOCKFILE} in {path.parent}; run 'cloche lock' there first")
    elif not path.is_file():
        raise _fail(f"lock file {path} does not exist on the driver")
    return path


@functools.lru_cache(maxsize=32)
def check_lock(text: str, source: str, groups: tuple[str, ...]) -> None:
    """The lock parses, names its files by URL (nodes cannot read the driver's paths)
    and has the groups asked for."""
    try:
        lock = parse_lock(text, source=source)
    except ClocheError as exc:
        raise _fail(str(exc)) from None
    for package in lock.packages:
        local = package.directory is not None or any(
            dist is not None and dist.url is None
            for dist in (package.sdist, package.archive, *(package.wheels or ()))
        )
        if local:
            raise _fail(
                f"{source}: package '{package.name}' comes from a local path, which the "
                "nodes cannot read; lock it from an index or a URL"
            )
    known = set(lock.dependency_groups or ())
    missing = [g for g in groups if g not in known]
    if missing:
        have = ", ".join(sorted(known)) or "none"
        raise _fail(f"{source} has no dependency group {missing[0]!r} (it has: {have})")


def resolve_field(value: object, cwd: Path | None = None) -> dict[str, Any]:
    """On the driver: the user's field read and checked, as the wire form nodes get.

    A field already in wire form is checked and passed on.
    """
    if isinstance(value, Mapping) and "lock_text" in value:
        return node_field(value).wire()
    checked = _check_dict(value, DRIVER_KEYS)
    groups, cache, bundle = _groups(checked), _cache(checked), _bundle(checked)
    if bundle is not None:
        _source_key(checked)
        text, source = _bundle_lock(bundle)
    else:
        path = _lock_file(checked, Path.cwd() if cwd is None else cwd)
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {path}: {exc}") from None
    check_lock(text, source, groups)
    return ClocheField(text, source, groups, cache, bundle).wire()


def node_field(value: object) -> ClocheField:
    """On a node: the wire form, checked (a lock path here was never read on the driver)."""
    if isinstance(value, Mapping) and ("lock" in value or "project" in value):
        raise _fail(
            "a lock path reached a node: paths are read on the driver; set "
            f"RAY_RUNTIME_ENV_HOOK={HOOK} where the driver runs (or pass "
            "cloche.integrations.ray_plugin.locked_runtime_env(...) as the runtime_env)"
        )
    checked = _check_dict(value, WIRE_KEYS)
    text, source = checked.get("lock_text"), checked.get("source", LOCKFILE)
    if not isinstance(text, str) or not isinstance(source, str):
        raise _fail("'lock_text' and 'source' must be strings")
    field = ClocheField(text, source, _groups(checked), _cache(checked), _bundle(checked))
    check_lock(text, source, field.groups)
    return field
