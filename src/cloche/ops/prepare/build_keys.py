"""How wheels built from source are keyed in the store: the source, and what shaped the build."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from cloche.config import Settings


def config_settings(pairs: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    """``-C`` pairs as PEP 517 ``config_settings``: a key given twice maps to a list."""
    out: dict[str, str | list[str]] = {}
    for key, value in pairs:
        known = out.get(key)
        if known is None:
            out[key] = value
        elif isinstance(known, list):
            known.append(value)
        else:
            out[key] = [known, value]
    return out


def build_variant(settings: Settings) -> str | None:
    """What shapes a build besides its source (the ``-C`` settings; "" for none).

    None when builds are not kept at all: without build isolation a build depends
    on whatever the environment holds.
    """
    if settings.no_build_isolation:
        return None
    config = config_settings(settings.config_settings)
    return json.dumps(config, sort_keys=True) if config else ""


def variant_key(key: str, variant: str) -> str:
    """The store key of a build of source ``key`` with ``variant``; ``key`` itself for ""."""
    if not variant:
        return key
    return hashlib.sha256(f"{key}\0{variant}".encode()).hexdigest()
