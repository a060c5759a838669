"""Can a frozen submission slow down the baseline it is timed against? (issues 13 and 27)

A timing check times the template's code (the baseline) while the student's worker is
frozen. This benchmark starts a "student" worker that burns the CPU in one of several ways,
freezes it, and times a fixed piece of work in a second worker, as a timing check would:
the baseline's median should not move, whatever the student's processes do, beyond the
noise of timing the same work next to an idle student.

Ways of burning (each on every core): pure-Python threads; numpy/torch threads; children
in sessions of their own; a child whose main thread ended (pthread_exit: /proc says it is a
zombie) while its threads burn; a daemon in nested user and PID namespaces (where the
kernel lets an unprivileged process make them); chains of processes that fork and exit in
a loop (a new pid every half millisecond, reaped at once by a subreaper that ignores
SIGCHLD); and children that hide their PID namespace (not dumpable: /proc/PID/ns/pid
unreadable to their own uid). Freezing: whatever the grader does for the user running this
(as root: the cgroup freezer, and signals with GRADER_NO_CGROUP=1; as an ordinary user:
a delegated cgroup where there is one, else signals), and no freeze at all (to show what
the burners do). A freeze the grader refuses (it could not show it complete) is a row
saying so.

Besides the baseline's time, which other load on the machine moves too, each burner writes
the time into a ring of stamps (in a file of the student's worker, mapped by every process
of it) about every millisecond it runs; after each round the student's worker counts the
stamps written between the end of the freeze and the start of the thaw. A complete freeze
leaves none, whatever else runs on the machine.

Run as root, or as an ordinary user (rootless workers):
    .venv/bin/python benchmarks/freeze.py [--rounds 15] [--burners NAME,...] [--modes NAME,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from grader._grading.runs import ProblemRun  # noqa: E402
from grader._sandbox.local import LocalRunner  # noqa: E402
from grader._sandbox.runner import Limits, WorkerSpec  # noqa: E402


DRIVER = '''
from typing import Any, Callable

def call(student: Any, name: str, device: str, **kwargs: Any) -> dict[str, Any]:
    return {"value": getattr(student, name)(**kwargs)}

def timed(student: Any, name: str, device: str) -> Callable[[Any], Any]:
    return getattr(student, name)
'''

BASELINE = '''
import torch
A = torch.randn(500, 500)
def work(x):
    for _ in range(20):
        A @ A
    return x
'''

PRELUDE = '''
import ctypes, mmap, os, struct, tempfile, threading, time
STAMPS, WRITERS, SLOTS = os.path.join(tempfile.gettempdir(), "stamps"), 256, 2048
with open(STAMPS, "wb") as f:
    f.truncate(8 * WRITERS * SLOTS)
with open(STAMPS, "r+b") as f:
    RING = mmap.mmap(f.fileno(), 8 * WRITERS * SLOTS)  # shared with every forked process
_next = [0]
def stamp():
    """Write the time into this writer's stretch of the ring (pid and thread pick it)."""
    _next[0] += 1
    w = (os.getpid() * 31 + threading.get_ident()) % WRITERS
    struct.pack_into("d", RING, 8 * (w * SLOTS + _next[0] % SLOTS), time.monotonic())
def stamps(lo, hi):
    times = struct.unpack(f"{WRITERS * SLOTS}d", RING[:])
    return sum(lo < t < hi for t in times)
def spin():
    end = time.monotonic() + 600
    tick = time.monotonic()
    while (now := time.monotonic()) < end:
        if now - tick > 0.001:
            stamp()
            tick = now
def hash_spin():
    import hashlib
    block = b"x" * (1 << 20)
    end = time.monotonic() + 600
    while time.monotonic() < end:
        hashlib.sha256(block).digest()
        stamp()
CORES = os.cpu_count() or 1
'''

BURNERS = {
    "idle": "def start():\n    return 0\n",
    "threads": '''
def start():
    for _ in range(2 * CORES):
        threading.Thread(target=hash_spin, daemon=True).start()
    return 0
''',
    "torch threads": '''
def start():
    import torch
    torch.set_num_threads(CORES)
    def matmuls():
        a = torch.randn(800, 800)
        end = time.monotonic() + 600
        while time.monotonic() < end:
            a @ a
            stamp()
    threading.Thread(target=matmuls, daemon=True).start()
    return 0
''',
    "children in new sessions": '''
def start():
    for _ in range(2 * CORES):
        if os.fork() == 0:
            os.setsid()
            spin()
            os._exit(0)
    return 0
''',
    "zombie-looking leader": '''
def start():
    for _ in range(2):
        if os.fork() == 0:
            os.setsid()
            for _ in range(CORES):
                threading.Thread(target=hash_spin, daemon=True).start()
            time.sleep(0.2)
            ctypes.CDLL(None).pthread_exit(None)
    time.sleep(0.5)
    return 0
''',
    "hopping pids": '''
CHAIN = r"""
import ctypes, mmap, os, signal, struct, sys, time
with open(sys.argv[2], "r+b") as f:
    ring = mmap.mmap(f.fileno(), 0)
slots = len(ring) // 8
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # what exits below is reaped at once, even while this is stopped
stop = time.monotonic() + 600
def chain(c):
    os.setsid()
    i = 0
    while time.monotonic() < stop:
        end = time.monotonic() + 0.0005
        while time.monotonic() < end:
            pass
        i += 1
        struct.pack_into("d", ring, 8 * ((c * 2048 + i % 2048) % slots), time.monotonic())
        try:
            child = os.fork()
        except OSError:
            continue
        if child:
            os._exit(0)
    os._exit(0)
for c in range(int(sys.argv[1])):
    if os.fork() == 0:
        chain(c)
while time.monotonic() < stop:
    time.sleep(1)
"""
def start():
    import sys
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", CHAIN, str(4 * CORES), STAMPS])
    time.sleep(0.3)
    return 0
''',
    "hidden namespace link": '''
def start():
    for _ in range(2 * CORES):
        if os.fork() == 0:
            os.setsid()
            ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: /proc/PID/ns/pid unreadable to this uid
            spin()
            os._exit(0)
    return 0
''',
    "nested namespaces": '''
def start():
    libc = ctypes.CDLL(None, use_errno=True)
    made = []
    for _ in range(CORES):
        if os.fork() == 0:
            ok = libc.unshare(0x10000000 | 0x20000000) == 0  # CLONE_NEWUSER | CLONE_NEWPID
            if os.fork() == 0:  # PID 1 of the new namespace (or just a child, where refused)
                os.setsid()
                for _ in range(2):
                    threading.Thread(target=hash_spin, daemon=True).start()
                spin()
            os._exit(0)
    time.sleep(0.3)
    return 0
''',
}


def spec(folder: Path, name: str, source: str) -> WorkerSpec:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    driver = folder / "driver.py"
    driver.write_text(DRIVER)
    return WorkerSpec(label=name, files={f"{name}.py": path}, module=name, driver=driver,
                      limits=Limits(threads=os.cpu_count() or 1, memory_mb=2048))


class Refused(Exception):
    """The grader would not freeze the student's worker (it could not show the freeze complete)."""


def measure(runner: LocalRunner, folder: Path, burner: str, freeze: bool, rounds: int) -> tuple[list[float], float, float]:
    """The baseline's time in each round, the burners' stamps per second while it ran, and
    the median time a freeze took."""
    student = ProblemRun(runner, spec(folder, "student", PRELUDE + BURNERS[burner]), import_timeout=30)
    base = ProblemRun(runner, spec(folder, "baseline", BASELINE), import_timeout=30)
    student.start_test(3600)
    base.start_test(3600)
    try:
        student.call("call", name="start")
        base.prepare("timed", name="work")
        base.run("timed", [torch.zeros(1)])  # warm-up
        times, leaked, spent, freezes = [], 0, 0.0, [0.0]
        for _ in range(rounds):
            if freeze:
                asked = time.monotonic()
                try:
                    student.freeze()
                except Exception as exc:  # noqa: BLE001 - a refusal (FreezeError where it exists)
                    raise Refused(str(exc)) from None
                freezes.append(time.monotonic() - asked)
            started = time.monotonic()
            try:
                times.append(base.run("timed", [torch.zeros(1)])[0])
            finally:
                ended = time.monotonic()
                if freeze:
                    student.thaw()
            leaked += student.call("call", name="stamps", lo=started, hi=ended)["value"]
            spent += ended - started
            time.sleep(0.05)  # the burners run between rounds, as between a check's requests
        return times, leaked / spent, statistics.median(freezes[1:] or freezes)
    finally:
        student.close()
        base.close()


def modes() -> list[tuple[str, bool, bool]]:
    """(name, freeze, signals only): what can be compared for the user running this."""
    if os.geteuid() == 0:
        return [("cgroup freezer", True, False), ("signals (no cgroup)", True, True), ("no freeze", False, False)]
    return [("as the grader freezes", True, False), ("no freeze", False, False)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--burners", default=",".join(BURNERS), help="which ways of burning, comma-separated")
    ap.add_argument("--modes", default=None, help="which freezes, comma-separated (default: all there are)")
    args = ap.parse_args()
    burners = [b.strip() for b in args.burners.split(",") if b.strip()]
    unknown = [b for b in burners if b not in BURNERS]
    if unknown:
        ap.error(f"unknown burners {unknown}; there are {list(BURNERS)}")
    chosen = [m for m in modes() if args.modes is None or m[0] in args.modes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)
        for mode, freeze, signals in chosen:
            if signals:
                os.environ["GRADER_NO_CGROUP"] = "1"
            else:
                os.environ.pop("GRADER_NO_CGROUP", None)
            runner = LocalRunner()
            if mode == "cgroup freezer" and runner.cgroups is None:
                print("no cgroup v2 folder can be made here: skipping the cgroup freezer", file=sys.stderr)
                runner.close()
                continue
            if mode == "as the grader freezes":
                how = "delegated cgroup" if runner.cgroups is not None else "signals"
                mode = f"{runner.isolation}, {how}"
            try:
                for burner in burners:
                    try:
                        times, rate, took = measure(runner, folder, burner, freeze, args.rounds)
                    except Refused as exc:
                        rows.append((mode, burner, None, None, None, None, None))
                        print(f"{mode:24s} {burner:26s} refused: {str(exc)[:200]}", flush=True)
                        continue
                    rows.append((mode, burner, statistics.median(times), min(times), max(times), rate, took))
                    print(f"{mode:24s} {burner:26s} median {statistics.median(times) * 1e3:7.1f} ms  "
                          f"(min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}); burners' stamps "
                          f"{rate:.0f}/s meanwhile; a freeze took {took * 1e3:.1f} ms", flush=True)
            finally:
                runner.close()
    print()
    print(f"as {'root' if os.geteuid() == 0 else 'an ordinary user'}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    print("| freezing | the student's processes | baseline median (min to max), ms | vs idle | burners' stamps/s while timed | a freeze took, ms |")
    print("|---|---|---|---|---|---|")
    idle = {r[0]: r[2] for r in rows if r[1] == "idle"}
    for mode, burner, med, lo, hi, rate, took in rows:
        if med is None or lo is None or hi is None or rate is None or took is None:
            print(f"| {mode} | {burner} | refused (no verdict) | | | |")
            continue
        ratio = f"{med / idle[mode]:.2f}x" if idle.get(mode) else ""
        print(f"| {mode} | {burner} | {med * 1e3:.1f} ({lo * 1e3:.1f} to {hi * 1e3:.1f}) | {ratio} | {rate:.0f} | {took * 1e3:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
