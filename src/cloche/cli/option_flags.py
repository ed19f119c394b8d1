"""The values of the option groups in ``cli.options`` as Settings fields.

Kept apart from the click decorators so a command answered before click loads
(``cli.compile_fast``) reads its options the same way the click command does.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from typing import Any

    from cloche.ops.project_sources import ProjectChoice


def index_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the index options out of a command's kwargs as Settings fields."""
    from cloche.config import IndexStrategy

    strategy = kwargs.pop("index_strategy", None)
    extra = kwargs.pop("extra_index_url", ())
    links = kwargs.pop("find_links", ())
    return {
        "index_url": kwargs.pop("index_url", None),
        "extra_index_urls": tuple(extra) if extra else None,
        "find_links": tuple(links) if links else None,
        "no_index": kwargs.pop("no_index", None),
        "index_strategy": IndexStrategy(strategy) if strategy else None,
        "refresh": kwargs.pop("refresh", None),
    }


def link_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the link options out of a command's kwargs as Settings fields."""
    from cloche.config import LinkMode

    mode = kwargs.pop("link_mode", None)
    return {
        "link_mode": LinkMode(mode) if mode else None,
        "compile_bytecode": kwargs.pop("compile_bytecode", None),
    }


def build_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the build options out of a command's kwargs as Settings fields."""
    return {
        "no_build_isolation": kwargs.pop("no_build_isolation", None),
        "config_settings": kwargs.pop("config_settings", None) or None,
    }


def binary_args(kwargs: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Pop --only-binary and --no-binary (in that order) out of a command's kwargs."""
    return tuple(kwargs.pop("only_binary", ())), tuple(kwargs.pop("no_binary", ()))


def project_choice(kwargs: dict[str, Any]) -> ProjectChoice:
    """The ``project_file_options`` given (``cli.options``), as ``ops.project_sources``
    takes them."""
    from cloche.ops.project_sources import ProjectChoice

    return ProjectChoice(
        extras=tuple(kwargs.get("extras", ())),
        all_extras=bool(kwargs.get("all_extras")),
        groups=tuple(kwargs.get("groups", ())),
    )
