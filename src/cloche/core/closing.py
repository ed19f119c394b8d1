"""A resource that closes when its ``with`` block ends."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

C = TypeVar("C", bound="Closing")


class Closing:
    """``with thing:`` calls ``thing.close()`` at the end of the block, whatever ends it."""

    def close(self) -> None:
        """Release what the object holds; subclasses say what."""

    def __enter__(self: C) -> C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
