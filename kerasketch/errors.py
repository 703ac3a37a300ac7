"""The one error type users see: a message that names the thing and says what to do."""

from __future__ import annotations


class KerasketchError(Exception):
    """A user-facing error. The CLI prints ``error: <message>`` and, when given,
    ``hint: <hint>``, then exits with status 2, never a traceback."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class DataError(KerasketchError):
    """Bad or missing data: a path, a file's contents, a class name."""


class ConfigError(KerasketchError):
    """An impossible option or combination of options."""


class RunError(KerasketchError):
    """A run folder that is missing, incomplete or not a run."""
