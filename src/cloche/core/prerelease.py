"""When pre-releases may be chosen: uv's ``--prerelease`` modes."""

from __future__ import annotations

from enum import Enum


class PrereleaseMode(Enum):
    """Without a mode, pip's rule holds: allowed when asked for (``--pre`` or a
    specifier naming one, anywhere) or when no final release matches."""

    ALLOW = "allow"
    """Every package may be a pre-release."""
    DISALLOW = "disallow"
    """Never a pre-release."""
    IF_NECESSARY = "if-necessary"
    """Only for a package that has nothing but pre-releases."""
    EXPLICIT = "explicit"
    """Only for a package the user's own requirement names a pre-release of."""
    IF_NECESSARY_OR_EXPLICIT = "if-necessary-or-explicit"
    """Either of the two above."""
