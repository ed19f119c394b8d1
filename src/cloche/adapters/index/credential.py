"""One index host's username and password (see ``auth``).

Apart from ``auth`` so that a command whose indexes need no credentials never
creates this class (a frozen dataclass costs about a millisecond to make).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and password for one index host."""

    username: str
    password: str

    def header(self) -> str:
        """The value of an ``Authorization: Basic`` header."""
        import base64

        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"
