"""The ``cloche`` console script: a light front door to the click CLI.

A few hot commands are answered without importing click (see ``venv_fast``,
``sync_fast``, ``gpu_fast`` and ``compile_fast``);
everything else goes to the click group in ``cli.main``, run inside the one error
boundary (``run_guarded``).

SIGTERM and SIGHUP take Ctrl-C's path (``cli.signals``).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def _say_notices() -> None:
    from cloche.core import notices

    notices.listen(_warn)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run cloche with ``argv`` (default: the process's arguments) and exit."""
    args = sys.argv[1:] if argv is None else argv
    from cloche.cli.signals import convert_signals

    convert_signals()
    _say_notices()
    from cloche.cli import venv_fast

    request = venv_fast.parse(args)
    if request is None and args[:2] == ["python", "list"]:
        from cloche.cli import python_list

        json_wanted = python_list.parse_fast(args)
        if json_wanted is not None:
            run_guarded(lambda: python_list.run_fast(json_wanted), verbose=False)
    if request is None and "gpu" in args[:3]:
        from cloche.cli import gpu_fast

        gpu_request = gpu_fast.parse(args)
        found = gpu_fast.answer(gpu_request) if gpu_request is not None else None
        if found is not None:
            run_guarded(lambda: gpu_fast.run(found), verbose=False)
    if request is None and "sync" in args[:4]:
        from cloche.cli import sync_fast

        sync_request = sync_fast.parse(args)
        if sync_request is not None:
            answered = guarded(lambda: sync_fast.run(sync_request), verbose=False)
            if answered is not None:
                sys.exit(answered)
    if request is None and "compile" in args[:6]:
        from cloche.cli import compile_fast

        compile_request = compile_fast.parse(args)
        if compile_request is not None:
            _collecting_rarely(
                lambda: run_guarded(lambda: compile_fast.run(compile_request), verbose=False)
            )
    if request is None:
        _collecting_rarely(lambda: _run_click(args, argv))
    run_guarded(lambda: venv_fast.run(request), verbose=False)


def _run_click(args: list[str], argv: list[str] | None) -> NoReturn:
    from cloche.cli.context import AppContext
    from cloche.cli.main import run_click, wants_traceback

    options = AppContext()
    # -v shows tracebacks wherever it was given; one given before the subcommand
    # counts even when parsing failed before it was read.
    early = wants_traceback(args)
    run_guarded(lambda: run_click(argv, options), verbose=lambda: early or options.verbosity > 0)


def _collecting_rarely(command: Callable[[], NoReturn]) -> NoReturn:
    """Run ``command``, one that may resolve, with the garbage collector seldom run
    and not at exit."""
    import gc

    # A command lives for seconds and makes few reference cycles, but it parses
    # megabytes of index pages: with the default threshold (700) the collector
    # walks that heap again and again (~20-40 ms of a warm install).
    gc.set_threshold(100_000, 50, 100)
    try:
        command()
    finally:
        # Interpreter shutdown runs a full collection over everything still alive
        # (~50 ms after a resolve); frozen objects are skipped, and the process is
        # about to exit anyway.
        gc.freeze()


def run_guarded(call: Callable[[], int], *, verbose: Callable[[], bool] | bool) -> NoReturn:
    """Run ``call`` and exit with its code; every error becomes one line and an exit code.

    The one error boundary of the CLI: ``-v`` (``verbose``, asked once an error
    happened) also shows the traceback.
    """
    sys.exit(guarded(call, verbose=verbose))


def guarded(call: Callable[[], int | None], *, verbose: Callable[[], bool] | bool) -> int | None:
    """``call``'s exit code (None: a fast path that did not answer); on an error, one
    line and exit, as ``run_guarded``."""
    from cloche.cli.signals import Terminated
    from cloche.errors import ClocheError

    def wanted() -> bool:
        return verbose() if callable(verbose) else verbose

    try:
        code = call()
    except ClocheError as exc:
        if wanted():
            import traceback

            traceback.print_exc()
        print_error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except Terminated as exc:
        from signal import Signals

        sys.stderr.write(f"interrupted by {Signals(exc.signum).name}\n")
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # the boundary: never a bare traceback unless -v
        if wanted():
            raise
        print_error(
            f"unexpected error: {type(exc).__name__}: {exc}", "run again with -v for details"
        )
        sys.exit(1)
    return code


def print_error(message: str, hint: str | None) -> None:
    """The one way cloche reports a failure: ``error:`` and an optional ``hint:`` line."""
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
