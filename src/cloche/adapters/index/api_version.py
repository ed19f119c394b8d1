"""PEP 691's ``meta.api-version``: a page of a major version cloche does not read is
refused in one line, not misread."""

from __future__ import annotations

from cloche.adapters.index.auth import redact
from cloche.errors import IndexResponseError


class NewerApi(Exception):
    """A page whose ``meta.api-version`` has a major version other than 1."""


def check_meta(meta: object) -> None:
    """Raise NewerApi for a ``meta`` table whose api-version is not 1.x."""
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if isinstance(version, str) and version.split(".", 1)[0].strip() != "1":
        raise NewerApi(version)


def newer_api(url: str, version: str) -> IndexResponseError:
    return IndexResponseError(
        f"{redact(url)} is a simple API {version!r} page; cloche reads version 1.x "
        "(PEP 691), so it cannot use this index",
        hint="upgrade cloche, or point --index-url at an index that serves version 1",
    )
