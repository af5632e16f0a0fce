"""The one exception type the CLI turns into a one-line message and a non-zero exit."""

from __future__ import annotations


class ClassifyError(Exception):
    """A user-facing error: bad input, a missing or tampered model, a write that failed.

    ``str(err)`` is a single line naming the file (and line, for data files).
    """

    exit_code = 2


class DataError(ClassifyError):
    """Malformed or unusable labelled data or input text."""


class ModelError(ClassifyError):
    """A model directory that is missing, partial, tampered with or incompatible."""
