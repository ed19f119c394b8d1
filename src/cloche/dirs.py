"""Where cloche keeps its cache and finds its user configuration (platform conventions).

Kept apart from ``config`` so that light commands can ask without importing it.
On Linux and macOS the answer is worked out here, as platformdirs gives it
(a test holds the two equal): importing platformdirs costs more than the rest
of ``cloche venv``. Other platforms ask platformdirs.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Mapping


def platform_cache_dir() -> str:
    """The platform's cache directory for cloche (``~/.cache/cloche`` on Linux)."""
    if sys.platform.startswith("linux"):
        return os.path.join(_xdg("XDG_CACHE_HOME", ".cache"), "cloche")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/cloche")
    import platformdirs

    return str(platformdirs.user_cache_dir("cloche", appauthor=False))


def platform_data_dir() -> str:
    """The platform's data directory for cloche (``~/.local/share/cloche`` on Linux)."""
    if sys.platform.startswith("linux"):
        return os.path.join(_xdg("XDG_DATA_HOME", ".local/share"), "cloche")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/cloche")
    import platformdirs

    return str(platformdirs.user_data_dir("cloche", appauthor=False))


def user_config_file(environ: Mapping[str, str] | None = None) -> str:
    """``$CLOCHE_CONFIG_FILE``, else ``cloche.toml`` in the platform's config directory."""
    env = os.environ if environ is None else environ
    if "CLOCHE_CONFIG_FILE" in env:
        return env["CLOCHE_CONFIG_FILE"]
    if sys.platform.startswith("linux"):
        directory = os.path.join(_xdg("XDG_CONFIG_HOME", ".config"), "cloche")
    elif sys.platform == "darwin":
        directory = os.path.expanduser("~/Library/Application Support/cloche")
    else:
        import platformdirs

        directory = platformdirs.user_config_dir("cloche", appauthor=False)
    return os.path.join(directory, "cloche.toml")


def _xdg(variable: str, default: str) -> str:
    # platformdirs' rule on Linux: the variable unless unset or blank, else ~/<default>.
    value = os.environ.get(variable, "")
    return value if value.strip() else os.path.expanduser(f"~/{default}")
