"""Whole-process measurements: wall time, CPU time and peak memory of a child process.

Each command runs in a fresh child (in its own session, so a timeout kills its workers too).
Two peak-memory figures are taken:

* ``peak_rss_mb``: the kernel's ``ru_maxrss`` of the command -- the largest resident set of the
  command or of any descendant it waited for (exact). For a multi-process command this is the
  biggest single process, not the sum. A process's ``ru_maxrss`` starts at the resident size
  of the process it was forked from (Linux keeps the pre-``exec`` high-water mark), so the
  command is started through GNU ``time`` (``/usr/bin/time -f %M``), a small process, and its
  figure is taken; without GNU time, ``wait4`` on the child is used, which counts this
  harness's own memory (``/bin/true`` reads about as large as the harness).
* ``tree_rss_mb``: the largest sum of RSS over the child and all its descendants, sampled with
  psutil every 20 ms at first, backing off to every 200 ms for long runs so the sampling itself
  stays cheap (can miss short peaks; counts shared pages once per process).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").is_file() else None
SAMPLE_S = 0.02  # first sampling interval
SAMPLE_MAX_S = 0.2


@dataclass
class Measurement:
    cmd: list[str]
    returncode: int | None
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    tree_rss_mb: float
    timed_out: bool = False
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        return d


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_measured(cmd: list[str], stdout: str | Path | None = None, timeout: float | None = None,
                 cwd: str | Path | None = None, env: dict | None = None) -> Measurement:
    """Run ``cmd`` to completion (or ``timeout`` seconds); stdout goes to the file ``stdout``."""
    out_fh = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    err_path = Path(stdout).with_suffix(".stderr") if stdout else None
    err_fh = open(err_path, "wb") if err_path else subprocess.PIPE  # noqa: SIM115
    rss_file = None
    run = cmd
    if GNU_TIME:
        fd, rss_file = tempfile.mkstemp(prefix="maxrss-")
        os.close(fd)
        run = [GNU_TIME, "-f", "%M", "-o", rss_file, *cmd]
    start = time.perf_counter()
    proc = subprocess.Popen(run, stdout=out_fh, stderr=err_fh, stdin=subprocess.DEVNULL,
                            cwd=cwd, env=env, start_new_session=True)
    ps = psutil.Process(proc.pid)
    tree_peak = 0
    timed_out = False
    try:
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree_peak = max(tree_peak, _tree_rss(ps))
            if timeout is not None and time.perf_counter() - start > timeout:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                _, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(min(SAMPLE_MAX_S, SAMPLE_S + (time.perf_counter() - start) / 50))
    finally:
        wall = time.perf_counter() - start
        if stdout:
            out_fh.close()
            err_fh.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if err_path:
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
    else:
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    peak = ru.ru_maxrss / 1024  # KiB on Linux
    if rss_file:
        with contextlib.suppress(OSError, ValueError, IndexError):
            peak = int(Path(rss_file).read_text().split()[-1]) / 1024
        Path(rss_file).unlink(missing_ok=True)
        # GNU time reports a failed command on stderr ("Command exited with non-zero status")
        # into -o's file, not the command's stderr: nothing to strip there
    return Measurement(cmd=[str(c) for c in cmd], returncode=proc.returncode, wall_s=wall,
                       cpu_s=ru.ru_utime + ru.ru_stime, peak_rss_mb=peak,
                       tree_rss_mb=max(tree_peak / 2**20, peak), timed_out=timed_out,
                       stderr_tail=stderr[-2000:])
