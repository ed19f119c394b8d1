"""The ``cloche`` console script: a light front door to the click CLI.

A few hot commands are answered without importing click (see ``venv_fast``);
everything else goes to ``cli.main``.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from typing import NoReturn


def main(argv: list[str] | None = None) -> NoReturn:
    """Run cloche with ``argv`` (default: the process's arguments) and exit."""
    args = sys.argv[1:] if argv is None else argv
    from cloche.cli import venv_fast

    request = venv_fast.parse(args)
    if request is None:
        import gc

        # A command lives for seconds and makes few reference cycles, but it parses
        # megabytes of index pages: with the default threshold (700) the collector
        # walks that heap again and again (~20-40 ms of a warm install).
        gc.set_threshold(100_000, 50, 100)
        from cloche.cli.main import main as click_main

        try:
            click_main(argv)
        finally:
            # Interpreter shutdown runs a full collection over everything still alive
            # (~50 ms after a resolve); frozen objects are skipped, and the process is
            # about to exit anyway.
            gc.freeze()
    from cloche.errors import ClocheError

    try:
        venv_fast.run(request)
    except ClocheError as exc:
        print_error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    sys.exit(0)


def print_error(message: str, hint: str | None) -> None:
    """The one way cloche reports a failure: ``error:`` and an optional ``hint:`` line."""
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
