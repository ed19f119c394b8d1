"""A total deadline per request, not only per read: a server that drips a byte now
and then cannot hold a command forever.

One watchdog thread for all requests cuts a connection (``KeptConnections.cut``) when its
deadline passes; the reading thread then fails at once. The answer's headers must
arrive within the timeout; each block of the body gets the timeout plus the time it
takes at ``MIN_RATE``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

MIN_RATE = 4096
"""Bytes per second below which a body counts as stalled."""


class Deadline:
    """One request's deadline; ``passed`` once the watchdog has cut it."""

    def __init__(self, owner: Deadlines, timeout: float) -> None:
        self._owner = owner
        self._timeout = timeout
        self.at = time.monotonic() + timeout
        self.passed = False

    def allow(self, size: int) -> None:
        """Give the next ``size`` bytes the timeout plus their time at MIN_RATE."""
        self._owner.move(self, time.monotonic() + self._timeout + size / MIN_RATE)


class Deadlines:
    """The watchdog: cuts each connection whose deadline has passed."""

    def __init__(self, cut: Callable[[Any], None]) -> None:
        self._cut = cut
        self._running: dict[Any, Deadline] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self, connection: Any, timeout: float) -> Deadline:
        deadline = Deadline(self, timeout)
        with self._changed:
            self._running[connection] = deadline
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="cloche-deadlines", daemon=True
                )
                self._thread.start()
            self._changed.notify()
        return deadline

    def move(self, deadline: Deadline, at: float) -> None:
        with self._changed:
            deadline.at = at

    def stop(self, connection: Any) -> None:
        with self._changed:
            self._running.pop(connection, None)

    def _watch(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for connection, deadline in list(self._running.items()):
                    if deadline.at <= now:
                        deadline.passed = True
                        del self._running[connection]
                        self._cut(connection)
                soonest = min((d.at for d in self._running.values()), default=now + 60)
                self._changed.wait(max(soonest - now, 0.05))
