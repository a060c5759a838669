"""A freeze by signals that is checked to be complete: for a worker without a cgroup it can
freeze (an ordinary user without a delegated cgroup; root where no cgroup2 can be made).

SIGSTOP reaches one process at a time, found by reading ``/proc``; a process that forks and
exits in a loop keeps changing pid and can stay a step ahead of a single sweep (a
baseline timed next to such a "frozen" student went from 51-65 ms to 87.5 ms). So the
sweep is repeated until it can be shown that nothing of the worker runs any more, or a
time bound passes (then ``Incomplete``: the caller gives no verdict on that basis).

What shows it (``stop``):

1. A listing of every process of the machine that is complete at one instant E: ``/proc``
   is read in pid order, which lists every process that lived through the reading; one
   started meanwhile got a pid the kernel handed out after the reading began, which
   ``/proc/loadavg``'s last pid brackets, so each pid handed out is looked up on its own
   (a thread's id too: it names its process) until the last pid stays the same across a
   round of look-ups. E is that last reading: every process alive at E has been read.
2. Whose each process is: a uid of the worker's own (root), or the worker's PID namespace
   (rootless: ``/proc/PID/ns/pid``). A process can hide that link from its own uid (``prctl
   PR_SET_DUMPABLE 0`` in a process forked from the worker, whose memory belongs to the
   grader's user namespace): it is the worker's when its parent is (a PID namespace is
   inherited, orphans are adopted inside it), up to the namespace's PID 1, which is known
   by pid and start time.
3. Every thread of every process of the worker was stopped (state T; or dead, Z/X) when
   read, and after E each is read again, stopped still, with the same CPU time to the
   nanosecond (``schedstat``; clock ticks where the kernel has none): a thread cannot
   enter the stopped state without running, so it was stopped from its first reading to
   its second, E included.

At E, then, every thread of the worker was stopped: none of them can continue another
or start one. The kernel itself can, though: a POSIX timer of the worker's (``timer_create``
with SIGCONT as its signal) fires while every thread is stopped, and continues its process
(a tester's attack: 16 such burners slowed a baseline from 71 to 678 ms). So a freeze is
checked again when it ends (``held``), before anything is continued: every process it
stopped is there still, each thread stopped with the same CPU time to the nanosecond, and
no other process is the worker's. A thread that ran meanwhile shows in its CPU time (it
cannot run without using some), a process that started or ended in the listing. What ran
under a freeze that did not hold is never a timing: the caller says so (``Escaped``).

What this does not cover: a process of the same user outside the worker sending SIGCONT
(the instructor's own processes), and a thread that never reaches the stopped state within
the bound (a sleep the kernel does not interrupt): the freeze is then refused, not assumed.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass, field

FREEZE_TIMEOUT = 30.0  # seconds to show a worker stopped before a timing check is refused
_STOPPED = frozenset("TtZX")  # stopped (by a signal, or traced), or dead
_LOOKUP_ROUNDS = 200  # rounds of looking up newly handed-out pids before a listing counts as not complete


class Incomplete(Exception):
    """The worker could not be shown stopped: the message says what was still running.
    ``running``: its own processes kept running (or ran again) under SIGSTOP, which code
    only does on purpose (a timer or another process sending SIGCONT); False where the
    machine's ``/proc`` could not show it (pids handed out without pause, by anyone)."""

    def __init__(self, message: str, running: bool = False) -> None:
        super().__init__(message)
        self.running = running


@dataclass
class Process:
    """One process as a reading of ``/proc`` found it."""

    pid: int
    ppid: int
    start: int  # clock ticks after boot: with the pid, which process this is
    owned: bool | None  # the worker's; None: not known yet (its parent's tells)
    threads: dict[int, tuple[str, int]] | None = None  # tid -> (state, CPU time); None: not read (not the worker's)

    def running(self) -> list[int]:
        return [tid for tid, (state, _) in (self.threads or {}).items() if state not in _STOPPED]


@dataclass(frozen=True)
class Owner:
    """Whose processes a freeze stops: those of ``uid`` (a root worker's own uid), or those
    of the PID namespace ``pidns`` (as ``readlink /proc/PID/ns/pid`` names it) whose PID 1
    is ``init`` (its pid and start time, as this side reads them)."""

    uid: int | None = None
    pidns: str | None = None
    init: tuple[int, int] | None = None

    def owns(self, pid: int) -> bool | None:
        """Whether process ``pid`` is the worker's; None: its parent's answer is its own (or it is gone)."""
        if self.uid is not None:
            return _uid(pid) == self.uid
        try:
            return os.readlink(f"/proc/{pid}/ns/pid") == self.pidns
        except PermissionError:  # not dumpable, or another user's: whose it is follows from its parent
            return None
        except OSError:
            return False


@dataclass(frozen=True)
class Frozen:
    """What a freeze stopped: each process by pid and start time (to continue them, and only
    them), each of its threads' state and CPU time as read then, and whose they are (for ``held``)."""

    processes: dict[int, int]
    passes: int
    seconds: float
    owner: Owner | None = None
    threads: dict[int, dict[int, tuple[str, int]]] = field(default_factory=dict)


def _stat(path: str) -> tuple[str, int, int, int] | None:
    """State, parent pid, start time and CPU clock ticks, from a ``stat`` file; None if gone."""
    try:
        with open(path + "/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def _cpu_ns(path: str, ticks: int) -> int:
    """A thread's CPU time in nanoseconds (``schedstat``); clock ticks where it is missing."""
    try:
        with open(path + "/schedstat", "rb") as f:
            return int(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        return -ticks  # (negative: never equal to a reading in nanoseconds)


def _uid(pid: int) -> int | None:
    """The real uid of process ``pid`` (``status``: a process that is not dumpable shows its
    ``/proc`` folder as root's)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return None


def _tgid(tid: int) -> int | None:
    """The process a pid names (itself, or the process of the thread ``tid``); None if gone."""
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return None


def _threads(pid: int) -> dict[int, tuple[str, int]] | None:
    """Each thread of ``pid``: its state, then its CPU time (read in that order: see ``stop``)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    threads = {}
    for tid in tids:
        path = f"/proc/{pid}/task/{tid}"
        stat = _stat(path)
        if stat is not None:
            threads[int(tid)] = (stat[0], _cpu_ns(path, stat[3]))
    return threads


def _read(pid: int, owner: Owner) -> Process | None:
    """Process ``pid``: whose it is, and where it is the worker's, each thread's state and CPU
    time; None if it is gone. (Its parent and start time only where they may be needed.)"""
    owned = owner.owns(pid)
    if owned is False:
        return Process(pid, -1, -1, False)
    stat = _stat(f"/proc/{pid}")
    if stat is None:
        return None
    _, ppid, start, _ = stat
    if owner.init is not None and (pid, start) == owner.init:
        owned = True
    proc = Process(pid, ppid, start, owned)
    return proc if owned is None or _read_threads(proc) else None


def _read_threads(proc: Process) -> bool:
    """Read every thread of ``proc``; False if it is gone (or another process has its pid now)."""
    threads = _threads(proc.pid)
    stat = _stat(f"/proc/{proc.pid}") if threads is not None else None
    if threads is None or stat is None or stat[2] != proc.start:
        return False
    proc.threads = threads
    return True


def _parent(procs: dict[int, Process], pid: int) -> Process | None:
    """The process ``pid`` as read, its start time read now where it was not needed before."""
    p = procs.get(pid)
    if p is not None and p.start < 0:
        stat = _stat(f"/proc/{pid}")
        if stat is None:
            return None
        p.ppid, p.start = stat[1], stat[2]
    return p


def _last_pid() -> int:
    """The pid the kernel handed out last in this PID namespace (``/proc/loadavg``)."""
    with open("/proc/loadavg", "rb") as f:
        return int(f.read().split()[-1])


def _handed_out(before: int, after: int, pid_max: int) -> range | list[int]:
    """The pids handed out after ``before`` up to ``after`` (the counter wraps at ``pid_max``)."""
    if after >= before:
        return range(before + 1, after + 1)
    return [*range(before + 1, pid_max), *range(1, after + 1)]


def pid_max() -> int:
    try:
        with open("/proc/sys/kernel/pid_max", "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1 << 22


def usable() -> str | None:
    """None where ``/proc`` can show a freeze complete; else why not."""
    try:
        if os.readlink("/proc/self") != str(os.getpid()):
            return "/proc is not this PID namespace's"
        _last_pid()
    except (OSError, ValueError, IndexError) as exc:
        return f"/proc cannot be read ({exc})"
    return None


def _resolve(procs: dict[int, Process], owner: Owner) -> bool:
    """Settle whose each process is that hid its namespace: its parent's, up to one whose
    answer is known; a process with no parent (the machine's init) is not the worker's.
    A parent that is gone means the process was adopted since: it is read anew. False if
    one stays unknown."""
    for proc in [p for p in procs.values() if p.owned is None]:
        for _ in range(3):
            chain, p = [proc], _parent(procs, proc.ppid)
            while p is not None and p.owned is None and p.start <= chain[-1].start and len(chain) < 1024:
                chain.append(p)
                p = _parent(procs, p.ppid)
            top = chain[-1]
            if top.ppid == 0 or (p is not None and p.owned is not None and p.start <= top.start):
                for q in chain:
                    q.owned = p.owned if top.ppid != 0 and p is not None else False
                break
            fresh = _read(proc.pid, owner)  # a parent is gone: by now it has been adopted
            if fresh is None or fresh.start != proc.start:
                proc.owned = False  # gone itself: nothing left to stop
                break
            procs[proc.pid] = proc = fresh
            if proc.owned is not None:
                break
        else:
            return False
    return True


def listing(owner: Owner, pid_max: int) -> dict[int, Process] | None:
    """Every process of ``owner`` alive at the end of this call, read (step 1 and 2 of
    ``stop``); None where that cannot be shown (pids kept being handed out, or whose a
    process is stayed unknown)."""
    procs: dict[int, Process] = {}
    last = _last_pid()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (p := _read(int(entry.name), owner)) is not None:
            procs[p.pid] = p
    for _ in range(_LOOKUP_ROUNDS):
        if not _resolve(procs, owner):
            return None
        for p in [p for p in procs.values() if p.owned and p.threads is None]:
            if not _read_threads(p):  # gone since: nothing left to stop
                p.owned = False
        now = _last_pid()
        if now == last:
            return {pid: p for pid, p in procs.items() if p.owned}
        for pid in _handed_out(last, now, pid_max):
            tgid = _tgid(pid)
            if tgid is not None and (p := _read(tgid, owner)) is not None:
                procs[tgid] = p
        last = now
    return None


def _same(before: dict[int, Process], owner: Owner) -> bool:
    """Step 3: every thread read before is stopped still, with the same CPU time."""
    for pid, proc in before.items():
        stat = _stat(f"/proc/{pid}")
        if stat is None or stat[2] != proc.start or _threads(pid) != proc.threads:
            return False
        assert proc.threads is not None
        if any(state not in _STOPPED for state, _ in proc.threads.values()):
            return False
    return True


def send(pid: int, start: int, sig: int) -> bool:
    """Signal the process ``pid`` only if it is still the one that started at ``start`` (a
    pidfd, so a pid handed to another process meanwhile is never signalled)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError as exc:
        if exc.errno != errno.ENOSYS:
            return False
        fd = -1
    try:
        stat = _stat(f"/proc/{pid}")
        if stat is None or stat[2] != start:
            return False
        if fd < 0:
            os.kill(pid, sig)
        else:
            signal.pidfd_send_signal(fd, sig)
        return True
    except OSError:
        return False
    finally:
        if fd >= 0:
            os.close(fd)


def stop(owner: Owner, timeout: float | None = None) -> Frozen:
    """SIGSTOP every process of ``owner`` until all are shown stopped (see the module's
    docstring); raise ``Incomplete`` past ``timeout`` seconds (``FREEZE_TIMEOUT``), having
    continued none."""
    timeout = FREEZE_TIMEOUT if timeout is None else timeout
    why = usable()
    if why:
        raise Incomplete(why)
    top = pid_max()
    started = time.monotonic()
    delay, passes = 0.0002, 0
    last: str = "no complete listing of /proc (pids kept being handed out)"
    while True:
        passes += 1
        procs = listing(owner, top)
        if procs is not None:
            running = {pid: p for pid, p in procs.items() if p.running()}
            if not running:
                if _same(procs, owner):
                    return Frozen({pid: p.start for pid, p in procs.items()}, passes, time.monotonic() - started,
                                  owner, {pid: dict(p.threads or {}) for pid, p in procs.items()})
                last, running_itself = "a thread ran again after it was seen stopped", True
            else:
                for pid, p in running.items():
                    send(pid, p.start, signal.SIGSTOP)
                last = f"{len(running)} of its processes still running (pids {', '.join(map(str, sorted(running)[:8]))})"
                running_itself = True
        else:
            running_itself = False
        if time.monotonic() - started > timeout:
            raise Incomplete(f"{last} after {timeout:.0f} s and {passes} passes", running=running_itself)
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def held(frozen: Frozen) -> str | None:
    """None where the freeze held from ``stop`` until now: every process it stopped is the
    same process still, every thread of it is there, stopped, with the CPU time it had, and
    the worker has no other process. Else what ran (see the module's docstring). Read
    before anything is continued."""
    if frozen.owner is None:
        return None
    for pid, start in frozen.processes.items():
        stat = _stat(f"/proc/{pid}")
        if stat is None or stat[2] != start:
            return f"its process {pid} ended while it was stopped"
        threads = _threads(pid)
        if threads != frozen.threads.get(pid):
            return f"its process {pid} ran while it was stopped (a thread's CPU time, state or number changed)"
    now = listing(frozen.owner, pid_max())
    if now is None:
        return "its processes could not be listed again (pids kept being handed out)"
    if new := sorted(set(now) - set(frozen.processes)):
        return f"processes of it started while it was stopped (pids {', '.join(map(str, new[:8]))})"
    return None


def cont(frozen: Frozen) -> None:
    """SIGCONT what ``stop`` stopped."""
    for pid, start in frozen.processes.items():
        send(pid, start, signal.SIGCONT)
