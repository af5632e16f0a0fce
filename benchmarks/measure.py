"""Whole-process measurements: wall time, CPU time and peak memory of a child process.

Each command runs in a fresh child (in its own session, so a timeout kills its workers too).
Two peak-memory figures are taken:

* ``peak_rss_mb``: ``ru_maxrss`` from ``wait4`` on the child -- the largest resident set of the
  child or of any descendant it waited for (exact; the kernel keeps it). For a multi-process
  command this is the biggest single process, not the sum.
* ``tree_rss_mb``: the largest sum of RSS over the child and all its descendants, sampled with
  psutil every 20 ms at first, backing off to every 200 ms for long runs so the sampling itself
  stays cheap (can miss short peaks; counts shared pages once per process).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

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
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out_fh, stderr=err_fh, stdin=subprocess.DEVNULL,
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
    return Measurement(cmd=[str(c) for c in cmd], returncode=proc.returncode, wall_s=wall,
                       cpu_s=ru.ru_utime + ru.ru_stime, peak_rss_mb=peak,
                       tree_rss_mb=max(tree_peak / 2**20, peak), timed_out=timed_out,
                       stderr_tail=stderr[-2000:])
