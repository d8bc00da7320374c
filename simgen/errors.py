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
