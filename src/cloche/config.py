"""Settings, layered: defaults < user config < project < environment < flags.

The user config is ``$XDG_CONFIG_HOME/cloche/cloche.toml`` (``CLOCHE_CONFIG_FILE``
overrides); the project layer is ``[tool.cloche]`` in pyproject.toml. cloche never
reads pip's configuration.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from cloche import dirs
from cloche.errors import UsageError

DEFAULT_INDEX_URL = "https://pypi.org/simple/"


class IndexStrategy(Enum):
    FIRST_INDEX = "first-index"
    """A name comes from the first index that has it (prevents dependency confusion)."""
    UNSAFE_BEST_MATCH = "unsafe-best-match"
    """Merge every index's versions and pick the best."""


class LinkMode(Enum):
    AUTO = "auto"
    CLONE = "clone"
    HARDLINK = "hardlink"
    COPY = "copy"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting a command runs with: defaults, config files, environment, flags."""

    cache_dir: Path
    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    index_strategy: IndexStrategy = IndexStrategy.FIRST_INDEX
    offline: bool = False
    refresh: bool = False
    timeout: float = 30.0
    retries: int = 3
    concurrency: int = 16
    link_mode: LinkMode = LinkMode.AUTO
    compile_bytecode: bool = False
    prerelease: bool = False
    no_cache: bool = False
    """Use a temporary cache for one command (``--no-cache``): the CLI swaps ``cache_dir``."""
    no_build_isolation: bool = False
    """Build sources with the target interpreter as it is, not in an isolated environment."""
    config_settings: tuple[tuple[str, str], ...] = ()
    """``-C KEY=VALUE`` for PEP 517 build backends, in the order given."""
    accelerator: str | None = None
    """Force a build variant (``cpu``, ``cu128``, ``rocm6.4``) instead of detecting one."""
    cuda_policy: str = "compatible"
    """``compatible`` (a driver runs its whole CUDA major) or ``strict``."""
    cuda_driver_version: str | None = None
    """Skip NVIDIA detection: the CUDA (``12.8``) or driver (``570.86.10``) version."""
    torch_index_url: str | None = None
    """A mirror of the PyTorch index: variant ``cu128`` comes from ``<url>/cu128``."""
    variant_catalog: Path | None = None
    """A build catalog replacing the one shipped with cloche."""
    python_downloads: str = "automatic"
    """``automatic`` (``--python X`` installs X when none is found), ``manual`` (only
    ``cloche python install``) or ``never``."""
    python_mirror: str | None = None
    """Where ``cloche python install`` downloads python-build-standalone builds."""

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Indexes in priority order (the primary one first); empty with --no-index."""
        if self.no_index:
            return ()
        return (self.index_url, *self.extra_index_urls)


def default_cache_dir() -> Path:
    return Path(dirs.platform_cache_dir())


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    return Path(dirs.user_config_file(environ))


_ENV_VARS: dict[str, str] = {
    "CLOCHE_CACHE_DIR": "cache_dir",
    "CLOCHE_INDEX_URL": "index_url",
    "CLOCHE_EXTRA_INDEX_URL": "extra_index_urls",
    "CLOCHE_FIND_LINKS": "find_links",
    "CLOCHE_INDEX_STRATEGY": "index_strategy",
    "CLOCHE_OFFLINE": "offline",
    "CLOCHE_HTTP_TIMEOUT": "timeout",
    "CLOCHE_HTTP_RETRIES": "retries",
    "CLOCHE_CONCURRENCY": "concurrency",
    "CLOCHE_LINK_MODE": "link_mode",
    "CLOCHE_COMPILE_BYTECODE": "compile_bytecode",
    "CLOCHE_NO_CACHE": "no_cache",
    "CLOCHE_NO_BUILD_ISOLATION": "no_build_isolation",
    "CLOCHE_ACCELERATOR": "accelerator",
    "CLOCHE_CUDA_POLICY": "cuda_policy",
    "CLOCHE_CUDA_DRIVER_VERSION": "cuda_driver_version",
    "CLOCHE_TORCH_INDEX_URL": "torch_index_url",
    "CLOCHE_VARIANT_CATALOG": "variant_catalog",
    "CLOCHE_PYTHON_DOWNLOADS": "python_downloads",
    "CLOCHE_PYTHON_MIRROR": "python_mirror",
}

_TOML_KEYS: dict[str, str] = {
    "cache-dir": "cache_dir",
    "index-url": "index_url",
    "extra-index-url": "extra_index_urls",
    "find-links": "find_links",
    "index-strategy": "index_strategy",
    "offline": "offline",
    "http-timeout": "timeout",
    "http-retries": "retries",
    "concurrency": "concurrency",
    "link-mode": "link_mode",
    "compile-bytecode": "compile_bytecode",
    "prerelease": "prerelease",
    "no-cache": "no_cache",
    "no-build-isolation": "no_build_isolation",
    "accelerator": "accelerator",
    "cuda-policy": "cuda_policy",
    "torch-index-url": "torch_index_url",
    "variant-catalog": "variant_catalog",
    "python-downloads": "python_downloads",
    "python-mirror": "python_mirror",
}


def _coerce(field_name: str, value: Any, where: str) -> Any:
    """Turn a raw config/env value into the type of the Settings field."""
    try:
        if field_name in ("cache_dir", "variant_catalog"):
            return Path(str(value)).expanduser()
        if field_name == "cuda_policy":
            if value not in ("compatible", "strict"):
                raise ValueError(f"expected compatible or strict, got {value!r}")
            return value
        if field_name == "python_downloads":
            if value not in ("automatic", "manual", "never"):
                raise ValueError(f"expected automatic, manual or never, got {value!r}")
            return value
        if field_name in ("extra_index_urls", "find_links"):
            if isinstance(value, str):
                return tuple(v for v in value.split() if v)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return tuple(value)
            raise ValueError("expected a string or a list of strings")
        if field_name == "index_strategy":
            return IndexStrategy(str(value))
        if field_name == "link_mode":
            return LinkMode(str(value))
        if field_name in (
            "offline",
            "compile_bytecode",
            "prerelease",
            "no_cache",
            "no_build_isolation",
        ):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"expected true or false, got {value!r}")
        if field_name == "timeout":
            return float(value)
        if field_name in ("retries", "concurrency"):
            number = int(value)
            if number < (1 if field_name == "concurrency" else 0):
                raise ValueError(f"must be positive, got {number}")
            return number
        if field_name in (
            "index_url",
            "accelerator",
            "cuda_driver_version",
            "torch_index_url",
            "python_mirror",
        ):
            return str(value)
    except ValueError as exc:
        raise UsageError(f"invalid value for {where}: {exc}") from None
    return value


def _from_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _TOML_KEYS:
            continue
        name = _TOML_KEYS[key]
        out[name] = _coerce(name, value, f"{key} in {where}")
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    # Imported only when a configuration file exists (most runs have none).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    with fh:
        try:
            data: dict[str, Any] = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from None
    return data


def load_settings(
    *,
    flags: Mapping[str, Any] | None = None,
    project_table: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from every layer. ``flags`` holds only what the user passed."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    user_path = user_config_path(env)
    values.update(_from_table(_read_toml(user_path), str(user_path)))
    if project_table:
        values.update(_from_table(project_table, "[tool.cloche] in pyproject.toml"))
    for var, name in _ENV_VARS.items():
        if var in env and env[var] != "":
            values[name] = _coerce(name, env[var], var)
    known = {f.name for f in fields(Settings)}
    for name, value in (flags or {}).items():
        if value is None or name not in known:
            continue
        values[name] = value
    values.setdefault("cache_dir", default_cache_dir())
    settings = Settings(**values)
    for url in settings.index_urls:
        check_index_url(url)
    if settings.torch_index_url is not None:
        check_index_url(settings.torch_index_url)
    return settings


def check_index_url(url: str) -> None:
    """Refuse index URLs that are not http(s) or file."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("http", "https", "file"):
        raise UsageError(f"index URL {url!r} is not an http(s):// or file:// URL")


def with_flags(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **{k: v for k, v in changes.items() if v is not None})
