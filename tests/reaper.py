"""What a batch left running, and nothing else: run a command (``grader grade``) as a child
subreaper, and when it has ended, report every process still below this one, then end them.

    python tests/reaper.py REPORT SETTLE -- COMMAND...

Why a subreaper: rootless, every worker of every grader run of a user shares that user's uid,
so a uid (or "a PID namespace other than the test's own") does not tell one batch's
processes from another's that runs at the same time (two pytest-xdist processes; the test
counted the other batch's workers as its strays, and its clean-up SIGKILLed them mid-test).
What this batch started does tell them apart: every process it started descends from
COMMAND, and an orphan (a daemon that double-forked and left its session, a worker whose
zygote died) is adopted by its nearest subreaper ancestor, inside a worker's PID namespace
that namespace's PID 1 (whose own ancestors are the batch's), else this process. So after
COMMAND ends, whatever lives below this process is the batch's and only the batch's, what
uid or namespace it has. (A process can leave this tree only by being started by someone
else: the machine's services, which a worker cannot reach. The hostile cases' markers on
command lines are checked beside this, by the tests.)

REPORT gets ``{"returncode": N, "left": {pid: command line}}``: what was alive SETTLE seconds
after COMMAND ended (time for a left-behind process to show itself). Everything left is then
SIGKILLed by this process, by pid, each read below it just before (an orphan adopted here
keeps its pid until this process reaps it). The exit status is COMMAND's.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def _reap() -> None:
    """Reap every child of this process that has ended (orphans adopted here included)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def below(ancestor: int) -> dict[int, str]:
    """Every live process that descends from ``ancestor``: pid -> command line."""
    parent: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except (OSError, ValueError):
            continue
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        parent[int(entry.name)] = int(fields.get("PPid", "0"))
    found: dict[int, str] = {}
    for pid in parent:
        p, seen = parent[pid], 0
        while p not in (0, ancestor) and p in parent and seen < 4096:
            p, seen = parent[p], seen + 1
        if p == ancestor:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    found[pid] = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                continue
    return found


def main(argv: list[str]) -> int:
    report, settle, command = argv[1], float(argv[2]), argv[4:]
    if argv[3] != "--" or not command:
        raise SystemExit("usage: reaper.py REPORT SETTLE -- COMMAND...")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"reaper.py: cannot become a child subreaper: {os.strerror(ctypes.get_errno())}")
    code = subprocess.call(command)
    time.sleep(settle)
    _reap()
    left = below(os.getpid())
    with open(report, "w") as f:
        json.dump({"returncode": code, "left": left}, f)
    for _ in range(250):  # forks race kills: until nothing is left below
        now = below(os.getpid())
        if not now:
            break
        for pid in now:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
        _reap()
    _reap()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
