"""The CLI's Reporter: rich progress bars on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
from typing import Any


class ConsoleReporter:
    """Renders ops progress. Messages go to stderr so stdout stays machine-readable."""

    def __init__(self, *, verbosity: int = 0, progress: bool = True) -> None:
        self.verbosity = verbosity
        self._use_bars = progress and verbosity >= 0 and sys.stderr.isatty()
        self._lock = threading.Lock()
        self._next_id = 0
        self._progress: Any = None
        self._bar_ids: dict[int, Any] = {}
        self._open = 0
        self.said: list[tuple[int, str]] = []
        """Every info and warning line, shown or not, with the least verbosity that shows
        it (0 and -1): what a replayed ``sync`` says again (``ops.sync_replay``)."""

    def started(self, task: str, total: int | None = None, *, unit: str = "") -> int:
        with self._lock:
            self._next_id += 1
            task_id = self._next_id
            if self._use_bars:
                if self._progress is None:
                    from rich.console import Console

                    from cloche.cli.progress_columns import progress

                    self._progress = progress(Console(stderr=True))
                    self._progress.start()
                self._bar_ids[task_id] = self._progress.add_task(task, total=total, unit=unit)
                self._open += 1
            elif self.verbosity >= 1:
                echo(f"{task}...", err=True)
            return task_id

    def advanced(self, task_id: int, amount: int = 1) -> None:
        with self._lock:
            bar = self._bar_ids.get(task_id)
            if bar is not None and self._progress is not None:
                self._progress.advance(bar, amount)

    def finished(self, task_id: int) -> None:
        with self._lock:
            bar = self._bar_ids.pop(task_id, None)
            if bar is not None and self._progress is not None:
                self._progress.remove_task(bar)
                self._open -= 1
                if self._open == 0:
                    self._progress.stop()
                    self._progress = None

    def info(self, message: str) -> None:
        self._say(0, message)

    def warning(self, message: str) -> None:
        self._say(-1, f"warning: {message}")

    def _say(self, least_verbosity: int, line: str) -> None:
        self.said.append((least_verbosity, line))
        if self.verbosity >= least_verbosity:
            self._echo(line)

    def debug(self, message: str) -> None:
        if self.verbosity >= 1:
            self._echo(message)

    def _echo(self, message: str) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(message, markup=False, highlight=False)
            else:
                echo(message, err=True)

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Write ``text`` to stdout or stderr as ``click.echo`` does, without importing click
    where it would only write and flush: a text stream with a (non-ASCII) encoding
    and no ANSI escapes to strip; elsewhere click itself writes it."""
    out = f"{text}\n" if nl else text
    stream = sys.stderr if err else sys.stdout
    if "\x1b" in out or not _plain_text_stream(stream):
        import click

        click.echo(out, err=err, nl=False)
        return
    if out:
        stream.write(out)
    stream.flush()


def _plain_text_stream(stream: object) -> bool:
    """True where click would write to ``stream`` itself (it wraps a misconfigured,
    ASCII one, and on Windows a console)."""
    import codecs
    import io

    if sys.platform == "win32" or not isinstance(stream, io.TextIOWrapper):
        return False
    encoding, errors = stream.encoding, stream.errors
    if encoding is None or errors is None:
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True
