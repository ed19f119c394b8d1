"""One-line notices from deep inside a command that no reporter reaches (an environment
restored after an interrupted install, found while listing it). The CLI says where they
go; without a listener nothing is said."""

from __future__ import annotations

from collections.abc import Callable

_listeners: list[Callable[[str], None]] = []


def listen(listener: Callable[[str], None]) -> None:
    """Send every later notice to ``listener`` (replacing any earlier one)."""
    _listeners[:] = [listener]


def notice(message: str) -> None:
    for listener in _listeners:
        listener(message)
