"""The columns of the CLI's progress bars: counts for steps, and for a download its
bytes, percent and speed (as pip and uv show them). Imported only once a bar is shown."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.text import Text

BYTES = "B"


class _ByUnit(ProgressColumn):
    """``for_bytes`` on a task counted in bytes, else ``for_steps`` (None: blank)."""

    def __init__(self, for_bytes: ProgressColumn, for_steps: ProgressColumn | None) -> None:
        super().__init__()
        self._for_bytes = for_bytes
        self._for_steps = for_steps

    def render(self, task: Task) -> Text:
        column = self._for_bytes if task.fields.get("unit") == BYTES else self._for_steps
        if column is None:
            return Text("")
        rendered = column.render(task)
        return rendered if isinstance(rendered, Text) else Text(str(rendered))


def progress(console: Console, get_time: Callable[[], float] | None = None) -> Progress:
    """A transient ``Progress``: spinner, what, bar, then ``3/7`` for steps or
    ``1.2/4.0 MB  30%  2.1 MB/s`` for a download, and the time so far."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        _ByUnit(DownloadColumn(), MofNCompleteColumn()),
        _ByUnit(TaskProgressColumn(), None),
        _ByUnit(TransferSpeedColumn(), None),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        get_time=get_time,
    )
