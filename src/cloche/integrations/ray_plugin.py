"""A Ray runtime_env plugin: ``runtime_env={"cloche": {"lock": "pylock.toml"}}``.

Every node makes the locked env once per lock (``ops.lock_env``: the store, links,
all or nothing) and starts the job's workers with its python. The env is named by
the lock's content hash, so Ray's URI cache reuses it for later jobs and removes it
when unused. Set on every node (``cloche ray plugin-env`` prints the value)::

    RAY_RUNTIME_ENV_PLUGINS='[{"class": "cloche.integrations.ray_plugin.ClochePlugin"}]'

and on the driver ``RAY_RUNTIME_ENV_HOOK=cloche.integrations.ray_plugin.resolve_runtime_env``
(it reads the lock there and checks the field before anything reaches a node).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import site
import socket
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ray._private.runtime_env.context import RuntimeEnvContext
from ray._private.runtime_env.plugin import RuntimeEnvPlugin

from cloche.config import load_settings
from cloche.errors import ClocheError
from cloche.integrations.ray_field import (
    FIELD,
    ClocheField,
    RayFieldError,
    node_field,
    resolve_field,
)
from cloche.ops.lock_env import LockedEnvRequest, make_lock_env, remove_lock_env
from cloche.ops.stamp import Selection

ENV_DIR_VAR = "CLOCHE_RAY_ENV_DIR"
URI_SCHEME = "cloche://"


def env_root() -> Path:
    """Where this node keeps its envs: ``$CLOCHE_RAY_ENV_DIR``, else a node-local temp dir."""
    configured = os.environ.get(ENV_DIR_VAR)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "cloche-ray-envs"


def host_site_dirs() -> tuple[str, ...]:
    """The site-packages of the Python running Ray here, so workers still import Ray."""
    import ray

    found = [*site.getsitepackages(), str(Path(ray.__file__).resolve().parent.parent)]
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    return tuple(dict.fromkeys(d for d in found if Path(d).is_dir()))


def env_path(field: ClocheField) -> Path:
    """This node's env for ``field``: the cluster-wide hash, then this node's Python."""
    host = "\0".join((sys.executable, sys.version, *host_site_dirs()))
    host_key = hashlib.sha256(host.encode()).hexdigest()[:12]
    return env_root() / f"{field.uri_hash[:32]}-{host_key}"


def resolve_runtime_env(runtime_env: dict[str, Any] | None) -> dict[str, Any] | None:
    """``RAY_RUNTIME_ENV_HOOK`` for the driver: read the lock, check the field."""
    if not runtime_env or runtime_env.get(FIELD) is None:
        return runtime_env
    return {**runtime_env, FIELD: resolve_field(runtime_env[FIELD])}


def locked_runtime_env(
    lock: str | Path | None = None,
    *,
    project: str | Path | None = None,
    groups: tuple[str, ...] | list[str] = (),
    cache: str | None = None,
    bundle: str | Path | None = None,
) -> dict[str, Any]:
    """A runtime_env for ``.options(runtime_env=...)``, read and checked here."""
    value: dict[str, Any] = {"groups": list(groups)}
    if bundle is not None:
        value["bundle"] = str(bundle)
    if lock is not None:
        value["lock"] = str(lock)
    if project is not None:
        value["project"] = str(project)
    if cache is not None:
        value["cache"] = cache
    return {FIELD: resolve_field(value)}


def _field(runtime_env: Any) -> ClocheField:
    return node_field(runtime_env.get(FIELD))


def _make(field: ClocheField, path: Path) -> tuple[float, bool]:
    """Make (or find) the env; the bytes it adds to this node's disk, and whether made."""
    from cloche.adapters.python.discovery import probe
    from cloche.adapters.staged_dir import unshared_bytes
    from cloche.ops.services import Services

    settings = load_settings()
    if field.cache is not None:
        settings = replace(settings, cache_dir=Path(field.cache))
    request = LockedEnvRequest(
        field.lock_text,
        selection=Selection(groups=field.groups),
        source=field.source,
        host_site_dirs=host_site_dirs(),
        bundle=field.bundle,
    )
    with Services(settings) as services:
        base = probe(Path(sys.executable), settings.cache_dir)
        made = make_lock_env(services, path, request, base)
    return float(unshared_bytes(made.path)), made.created


class ClochePlugin(RuntimeEnvPlugin):  # type: ignore[misc]
    """The ``cloche`` runtime_env field: workers run in the env a lock describes."""

    name = FIELD

    @staticmethod
    def validate(runtime_env_dict: dict[str, Any]) -> None:
        node_field(runtime_env_dict.get(FIELD))

    def get_uris(self, runtime_env: Any) -> list[str]:
        # Ray also asks outside its error handling (reference counting): a bad field
        # has no URI here and fails in ``validate``, with its message, on the task.
        try:
            return [URI_SCHEME + _field(runtime_env).uri_hash]
        except RayFieldError:
            return []

    async def create(
        self,
        uri: str | None,
        runtime_env: Any,
        context: RuntimeEnvContext,
        logger: logging.Logger,
    ) -> float:
        field = _field(runtime_env)
        path = env_path(field)
        started = time.perf_counter()
        try:
            size, created = await asyncio.to_thread(_make, field, path)
        except ClocheError as exc:
            raise RuntimeError(
                f"cloche could not make the env of {field.source} on node "
                f"{socket.gethostname()}: {exc}"
            ) from None
        what = "made" if created else "found"
        logger.info(f"cloche: {what} {path} in {time.perf_counter() - started:.2f}s")
        return size

    def modify_context(
        self,
        uris: list[str],
        runtime_env: Any,
        context: RuntimeEnvContext,
        logger: logging.Logger,
    ) -> None:
        python = env_path(_field(runtime_env)) / "bin" / "python"
        if not python.exists():
            raise RuntimeError(f"cloche: the env's python {python} is missing on this node")
        context.py_executable = str(python)

    def delete_uri(self, uri: str, logger: logging.Logger) -> float:
        prefix = uri.removeprefix(URI_SCHEME)[:32]
        root, freed = env_root(), 0
        try:
            paths = [p for p in root.iterdir() if p.name.startswith(f"{prefix}-")]
        except FileNotFoundError:
            return 0.0
        for path in paths:
            freed += remove_lock_env(path)
        logger.info(f"cloche: removed {len(paths)} env(s) for {uri}")
        return float(freed)
