"""The one exception tree of cloche.

Messages are plain text, one line where possible, and say what to do next.
The CLI maps ``UsageError`` to exit code 2 and every other ``ClocheError`` to 1.
"""

from __future__ import annotations


class ClocheError(Exception):
    """Root of every error cloche reports to a user."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(ClocheError):
    """Something the user can fix in what they typed or wrote (bad flag, bad file)."""

    exit_code = 2


class RequirementError(UsageError):
    """A requirement string or requirements file line that cannot be parsed or honoured."""


class IndexResponseError(ClocheError):
    """An index or find-links source answered with something unusable (404, 5xx, garbage)."""


class NetworkError(ClocheError):
    """The network failed: timeout, connection refused, TLS failure."""


class HashMismatchError(ClocheError):
    """A downloaded or cached file does not match the hash it must have."""


class NoVersionError(ClocheError):
    """No release of a package matches what was asked (also: unknown package)."""


class ResolutionError(ClocheError):
    """No set of versions satisfies all requirements; the message explains why."""


class BuildError(ClocheError):
    """Building a wheel from source failed; the message carries the backend's last lines."""


class InstallError(ClocheError):
    """An install could not be completed; the environment was left as it was."""


class UnusableEnvError(ClocheError):
    """The target environment is missing, not a venv, or otherwise unusable."""


class InterpreterNotFound(ClocheError):
    """No Python interpreter matches the request."""


class ProjectError(UsageError):
    """pyproject.toml or pylock.toml is missing or invalid."""


class LockStaleError(ClocheError):
    """The lockfile does not match pyproject.toml (raised by ``--locked`` / ``lock --check``)."""


class CacheError(ClocheError):
    """The cache directory could not be read or written."""


class OfflineError(ClocheError):
    """A network request was needed while running ``--offline``."""


class CommandNotFound(ClocheError):
    """The command to run is not in the environment nor on PATH."""

    exit_code = 127


class InvalidMetadata(ClocheError):
    """A distribution's core metadata cannot be used (missing name, bad requirement...)."""


class CorruptWheelError(InstallError):
    """A wheel in the store is broken or unsafe; nothing of it was kept."""


class CorruptArchive(ClocheError):
    """A wheel or sdist cannot be read (not a zip/tar, no metadata file, too large)."""
