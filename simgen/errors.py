"""User-facing errors.

Anything a user can cause (bad YAML, a missing file, an unknown device, an unwritable output folder) raises a
subclass of :class:`SimgenError`. The CLI prints its message and exits with code 1 — never a traceback.
Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class SimgenError(Exception):
    """A problem the user can fix; ``str(err)`` is the complete, human-readable message."""

    exit_code = 1


class DeviceError(SimgenError):
    """The requested render device is not available."""


class OutputError(SimgenError):
    """The output location cannot be written."""


class UsageError(SimgenError):
    """A command-line value the command cannot use (an unknown choice, an inconsistent combination): exit code 2."""

    exit_code = 2


class Interrupted(SimgenError):
    """The run was stopped by a signal (SIGINT: exit code 130, SIGTERM: 143); nothing was committed."""

    def __init__(self, message: str, signum: int = 2):
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + int(signum)
