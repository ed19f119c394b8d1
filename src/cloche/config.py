"""Settings, layered: defaults < user config < project < environment < flags.

The user config is ``$XDG_CONFIG_HOME/cloche/cloche.toml`` (``CLOCHE_CONFIG_FILE``
overrides); the project layer is ``[tool.cloche]`` in pyproject.toml. cloche never
reads pip's configuration.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloche import dirs
from cloche.core.prerelease import PrereleaseMode
from cloche.errors import UsageError
from cloche.index_settings import frozen_pins, no_pins

if TYPE_CHECKING:
    from cloche.core.models import NormalizedName
    from cloche.core.variants.model import BuildPlatforms
    from cloche.named_indexes import NamedIndex

DEFAULT_INDEX_URL = "https://pypi.org/simple/"


class IndexStrategy(Enum):
    FIRST_INDEX = "first-index"
    """A name comes from the first index that has it (prevents dependency confusion)."""
    UNSAFE_FIRST_MATCH = "unsafe-first-match"
    """Every index is asked; the first index's versions are tried (newest first)
    before any version only a later index has."""
    UNSAFE_BEST_MATCH = "unsafe-best-match"
    """Merge every index's versions and pick the best (a version two indexes list
    comes from the first of them)."""


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
    prerelease_mode: PrereleaseMode | None = None
    """``--prerelease MODE``; None keeps pip's rule (``--pre`` is ``allow``)."""
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
    indexes: tuple[NamedIndex, ...] = ()
    """``[[tool.cloche.index]]``: named indexes, searched after the extra index URLs
    and before the default one unless ``explicit``."""
    package_indexes: Mapping[NormalizedName, str] = field(default_factory=no_pins)
    """Names that come from one index URL only (``[tool.cloche.sources] x = { index =
    ... }``); no other index is asked for them, not even when theirs lacks them."""
    build_platforms: BuildPlatforms | None = None
    """Set by routing: the torch build a lock is made with exists only for these
    targets (CUDA: no macOS), so the lock covers only them."""
    python_downloads: str = "automatic"
    """``automatic`` (``--python X`` installs X when none is found), ``manual`` (only
    ``cloche python install``) or ``never``."""
    python_mirror: str | None = None
    """Where ``cloche python install`` downloads python-build-standalone builds."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "package_indexes", frozen_pins(self.package_indexes))

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Every index this configuration names, the default one first (as
        ``--index-url`` / ``--extra-index-url`` lines write them); empty with --no-index.

        The order a name is looked up in is ``index_search_order``.
        """
        if self.no_index:
            return ()
        listed = (self.index_url, *self.extra_index_urls)
        named = (index.url for index in self.indexes)
        more = dict.fromkeys(u for u in (*named, *self.package_indexes.values()) if u not in listed)
        return (*listed, *more)

    @property
    def index_search_order(self) -> tuple[str, ...]:
        """Indexes in the order a name not pinned to one is looked up: the extra
        indexes, the named ones that are not explicit, then the default index."""
        if self.no_index:
            return ()
        named = (index.url for index in self.indexes if not index.explicit)
        return tuple(dict.fromkeys([*self.extra_index_urls, *named, self.index_url]))


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
    "CLOCHE_PRERELEASE": "prerelease_mode",
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
    "prerelease-mode": "prerelease_mode",
    "no-cache": "no_cache",
    "no-build-isolation": "no_build_isolation",
    "accelerator": "accelerator",
    "cuda-policy": "cuda_policy",
    "torch-index-url": "torch_index_url",
    "variant-catalog": "variant_catalog",
    "python-downloads": "python_downloads",
    "python-mirror": "python_mirror",
}


_PROJECT_KEYS = frozenset({"targets", "python", "default-groups", "sources"})
"""[tool.cloche] keys the project reader owns (core/project/load.py), not settings."""

_ENV_REFERENCE = r"\$\{([A-Za-z0-9_]+)\}"  # compiled (through re's cache) on first use
_URL_FIELDS = frozenset({"index_url", "extra_index_urls", "find_links"})


def expand_references(text: str, environ: Mapping[str, str]) -> str:
    """``${NAME}`` in ``text`` replaced by the variable's value (left as is when unset).

    Configuration keeps the reference, so a token never sits in a file; it is
    expanded only in memory, when the setting is used."""
    return re.sub(_ENV_REFERENCE, lambda m: environ.get(m.group(1), m.group(0)), text)


def _unknown_key(key: str, where: str, known: frozenset[str]) -> UsageError:
    import difflib

    close = difflib.get_close_matches(key.replace("_", "-"), sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
    return UsageError(
        f"unknown key {key!r} in {where}; {hint}",
        hint="an ignored index setting would send requests to the public index instead",
    )


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
        if field_name == "prerelease_mode":
            return PrereleaseMode(str(value))
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
            seconds = float(value)
            if not seconds > 0 or seconds == float("inf"):
                raise ValueError(f"expected a number of seconds above 0, got {value!r}")
            return seconds
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


def _from_table(
    table: Mapping[str, Any],
    where: str,
    environ: Mapping[str, str],
    others: frozenset[str] = frozenset(),
    known: tuple[NamedIndex, ...] = (),
) -> dict[str, Any]:
    """Settings from one configuration table; a key neither a setting nor in ``others``
    is an error (a mistyped ``index_url`` must not silently fall back to PyPI).
    ``known`` are the named indexes an earlier layer defined (pins may name them)."""
    out: dict[str, Any] = {}
    if "index" in table or "sources" in table:
        from cloche.named_indexes import read_index_pins, read_named_indexes
    if "index" in table:
        out["indexes"] = read_named_indexes(table["index"], where)
    if "sources" in table:
        named = (*out.get("indexes", ()), *known)
        pins = read_index_pins(table["sources"], named, where)
        if pins:
            out["package_indexes"] = pins
    for key, value in table.items():
        if key in ("index", "sources"):
            continue  # read above
        if key not in _TOML_KEYS:
            if key in others:
                continue
            raise _unknown_key(key, where, frozenset(_TOML_KEYS) | others)
        name = _TOML_KEYS[key]
        out[name] = _with_references(name, _coerce(name, value, f"{key} in {where}"), environ)
    return out


def _with_references(name: str, value: Any, environ: Mapping[str, str]) -> Any:
    if name not in _URL_FIELDS:
        return value
    if isinstance(value, tuple):
        return tuple(expand_references(v, environ) for v in value)
    return expand_references(value, environ)


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
    values.update(_from_table(_read_toml(user_path), str(user_path), env))
    if project_table:
        where = "[tool.cloche] in pyproject.toml"
        values.update(
            _from_table(project_table, where, env, _PROJECT_KEYS, values.get("indexes", ()))
        )
    for var, name in _ENV_VARS.items():
        if var in env and env[var] != "":
            values[name] = _with_references(name, _coerce(name, env[var], var), env)
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
