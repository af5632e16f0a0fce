"""Interrupts: SIGINT, SIGTERM or SIGHUP at any moment ends a command with one line and
exit 130, 143 or 129.

The console entry point (``classify.__main__``) calls ``install`` before it imports anything
else. The handler never raises: an exception raised inside an import (numpy's, say) comes out
as an ImportError, or is swallowed by a finaliser, and either reads as a bug. Instead it
removes the temporary files that atomic writes have registered, stops worker processes, prints
one line and ends the process at once. Saved files are safe at every moment because each save
is a write to a temporary file followed by an atomic rename (see ``persist``).

Fault injection, for tests: with ``CLASSIFY_SIGNAL_AT=POINT:SIGNAL`` in the environment, the
process sends itself SIGNAL (INT, TERM or KILL) when it reaches ``checkpoint(POINT)``, so an
interrupt lands at a known place ("after-imports", "mid-fit", "mid-save", ...) without any
dependence on timing. ``POINTS`` lists the places. With ``CLASSIFY_SIGNAL_ONCE=FILE`` as
well, only the first process to reach the point (the one that creates FILE) gets the signal:
a Dask worker killed in "mid-partition" that way is killed once, and its partition is then
done again elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator

PROG = "classify"
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}  # HUP: a closed terminal
POINTS = ("start", "after-imports", "after-load", "mid-fit", "label-fit", "mid-pool", "mid-save",
          "mid-tag", "mid-evaluate", "mid-partition", "after-save")
#: joblib's resource tracker, started with the first worker pool (``train --jobs N``), inherits
#: the environment: after an interrupt has killed the pool's workers (``_kill_joblib_workers``)
#: it removes the pool's temporary files and semaphores, and would report each on stderr
_TRACKER_QUIET = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"

temp_files: set[str] = set()  # removed if the process is interrupted
cleanups: list = []  # callables run if the process is interrupted (e.g. restore a terminal)
#: what the command has already saved for good ("the model was saved whole in DIR"), said in
#: the interrupt's line: a signal after the commit must not read as if nothing was saved
committed: str | None = None
_main_pid: int | None = None
_inject = os.environ.get("CLASSIFY_SIGNAL_AT", "")


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP end the process cleanly (see the module docstring)."""
    global _main_pid
    _main_pid = os.getpid()
    given = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = f"{given},{_TRACKER_QUIET}" if given else _TRACKER_QUIET
    for sig in EXIT_CODES:
        signal.signal(sig, _on_signal)


def _on_signal(signum: int, _frame: object) -> None:
    for fn in list(cleanups):
        with contextlib.suppress(Exception):
            fn()
    for path in list(temp_files):
        with contextlib.suppress(OSError):
            os.unlink(path)
    if os.getpid() == _main_pid:  # forked workers leave the message to their parent
        # a signal can land while multiprocessing is still being imported (no children yet,
        # and no active_children either)
        active_children = getattr(sys.modules.get("multiprocessing"), "active_children", None)
        if active_children is not None:
            with contextlib.suppress(Exception):
                for child in active_children():
                    with contextlib.suppress(OSError):
                        child.kill()
        _kill_joblib_workers()
        with contextlib.suppress(OSError):
            after = f" after {committed}" if committed else ""
            os.write(2, f"{PROG}: interrupted ({signal.Signals(signum).name}){after}\n"
                     .encode())
    os._exit(EXIT_CODES.get(signum, 128 + signum))


def _kill_joblib_workers() -> None:
    """Kill the workers of joblib's process pool (``train --jobs N``), which multiprocessing
    does not list: left alone they would finish the fit at hand and idle for minutes, orphaned.
    Their resource tracker then sees them gone and removes the pool's temporary files."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    with contextlib.suppress(Exception):
        for proc in list((getattr(executor, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block (nests); a signal that came meanwhile is
    handled as the block ends. For the few statements that must not be cut in two, such as
    a rename and the bookkeeping of what it committed."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, EXIT_CODES)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def checkpoint(point: str) -> None:
    """A named place where a test can inject a signal (``CLASSIFY_SIGNAL_AT``)."""
    if _inject and _inject.partition(":")[0] == point:
        once = os.environ.get("CLASSIFY_SIGNAL_ONCE")
        if once:
            try:
                os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
        name = _inject.partition(":")[2] or "TERM"
        os.kill(os.getpid(), getattr(signal, "SIG" + name.upper().removeprefix("SIG")))
