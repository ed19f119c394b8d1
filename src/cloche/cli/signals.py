"""SIGTERM and SIGHUP (``timeout``, a cancelled CI job, ``docker stop``, a closed ssh
session) take Ctrl-C's path: they raise ``Terminated``, a KeyboardInterrupt, in the
main thread, so an install under way rolls back as it does for Ctrl-C. Only the CLI
converts them; library code installs no signal handler.
"""

from __future__ import annotations

import signal


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: handled as Ctrl-C, exits 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def convert_signals() -> None:
    """Make SIGTERM and SIGHUP raise ``Terminated`` in the main thread (where they exist)."""
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _terminate)
