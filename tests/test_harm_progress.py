"""A download's progress shows bytes, percent and speed (as pip and uv do); a count of
steps keeps its ``M/N``. No timing: a fake clock drives the speed."""

from __future__ import annotations

import io

from rich.console import Console

from cloche.cli.progress_columns import progress


def _rendered(unit: str, total: int, done: list[int]) -> str:
    now = [0.0]
    console = Console(file=io.StringIO(), width=160, force_terminal=False, color_system=None)
    bars = progress(console, get_time=lambda: now[0])
    task = bars.add_task("Downloading numpy-2.1.0.whl", total=total, unit=unit)
    for amount in done:
        now[0] += 1.0
        bars.advance(task, amount)
    console.print(bars.make_tasks_table(bars.tasks))
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_a_download_shows_bytes_percent_and_speed() -> None:
    line = _rendered("B", 4_000_000, [1_000_000, 1_000_000])
    assert "Downloading numpy-2.1.0.whl" in line
    assert "2.0/4.0 MB" in line
    assert "50%" in line
    assert "1.0 MB/s" in line


def test_steps_show_a_count_without_bytes_or_speed() -> None:
    line = _rendered("", 7, [1, 2])
    assert "3/7" in line
    assert "MB" not in line and "/s" not in line and "%" not in line
