"""Domain errors. Each carries the exit code of the public contract; the CLI converts them in one place."""

from __future__ import annotations


class CertcliError(Exception):
    """An expected failure: one message, an optional hint, and the exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CertcliError):
    """A bad value given on the command line."""

    exit_code = 2


class NotFound(CertcliError):
    """An unknown certification, course or user."""

    exit_code = 3


class PermissionDenied(CertcliError):
    """The acting user is unknown or lacks the role."""

    exit_code = 4


class StateError(CertcliError):
    """Not allowed in the current state."""

    exit_code = 5


class DataError(CertcliError):
    """The store or an input file is missing, unreadable, malformed or invalid."""

    exit_code = 6


class StoreBusy(CertcliError):
    """The store lock was not obtained within the wait time."""

    exit_code = 7
