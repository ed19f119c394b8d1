"""How library code tells the user what it is doing, without printing."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Progress and messages from ops; the CLI renders them, tests record them."""

    def started(self, task: str, total: int | None = None, *, unit: str = "") -> int:
        """A task begins; returns an id for ``advanced`` / ``finished``. ``unit`` "B":
        ``total`` and the amounts are bytes (a download: shown with percent and speed)."""
        ...

    def advanced(self, task_id: int, amount: int = 1) -> None: ...

    def finished(self, task_id: int) -> None: ...

    def info(self, message: str) -> None:
        """A line the user should see at normal verbosity."""
        ...

    def warning(self, message: str) -> None: ...

    def debug(self, message: str) -> None:
        """Only shown with -v."""
        ...


class NullReporter:
    """A reporter that drops everything."""

    def started(self, task: str, total: int | None = None, *, unit: str = "") -> int:
        return 0

    def advanced(self, task_id: int, amount: int = 1) -> None:
        pass

    def finished(self, task_id: int) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def debug(self, message: str) -> None:
        pass
