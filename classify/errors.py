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


def worker_lost(what: str) -> ClassifyError:
    """The error for a worker process of ``--jobs N`` that died mid-task (killed, or by the
    operating system for want of memory): one line with the way round it, not a traceback."""
    return ClassifyError(f"a worker process {what} ended before it finished (killed, or out "
                         "of memory?): run again with --jobs 1, or free some memory")
