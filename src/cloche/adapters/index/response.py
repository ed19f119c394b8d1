"""What ``HttpTransport`` answers: one response, its body read in full.

Apart from ``http`` so that a command that never sends a request (an offline
compile) never creates this class (a frozen dataclass costs about a millisecond).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One HTTP response, its body read in full."""

    status: int
    url: str
    """The final URL after redirects, without credentials."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-cased header names."""
    content: bytes = b""
