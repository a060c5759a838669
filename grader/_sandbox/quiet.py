"""A timing check has the batch to itself: the lock every request holds (``Quiet``), and the
other jobs' workers frozen by signals while it runs (``SiblingWorker``)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from . import freeze as _freeze
from .cgroup import delegation_hint
from .isolation import init_of, namespace_of, start_of
from .._exceptions import FreezeBroken, FreezeError


def freeze_refused(label: str, why: str) -> str:
    """What a timing check says when the other side's worker could not be shown frozen."""
    return (
        f"No verdict on speed: the worker of {label} could not be shown frozen ({why}), so its processes may have "
        "run while the other side was timed. What to do: grade where each worker gets a cgroup of its own, which "
        f"the kernel freezes whole: as root; {delegation_hint()}; or with --runner docker. Then grade this "
        "student again (--regrade NAME)."
    )


def _lock(fd: int, mode: int) -> None:
    """``flock(fd, mode)``; while it waits (another job holds the batch), the waiting test's
    own wall-clock alarm (pytest-timeout's, ITIMER_REAL) is paused: another student's timing
    check is not this test's time, and a test must not fail for what another test took."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    if threading.current_thread() is not threading.main_thread():
        fcntl.flock(fd, mode)
        return
    left, interval = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        fcntl.flock(fd, mode)
    finally:
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, left, interval)


class Quiet:
    """Timing checks run alone in a batch, across its parallel jobs (processes).

    Every request a job sends to a worker holds a shared lock (``request``); a timing check
    holds it exclusively (``alone``), so while it runs no other job has a call in flight,
    and every other job's workers, idle then, are frozen: with their cgroups where they
    have them, else by signals until every process is seen stopped (each job lists such
    workers in the batch's folder, ``register``): nothing another student left running
    (threads, daemons, burners) takes CPU from a baseline or a candidate while they are
    timed. A job waiting for the lock is not charged for the wait (its clocks start after
    it, and its test's own alarm is paused meanwhile: ``_lock``); a timing check holds it
    for a bounded time (the student's calls in it, however they spend it, at most
    ``WALL_BACKSTOP`` times the test's limit in wall time: ``ProblemRun._wall_left``). The
    lock is ``flock`` on a file made when the batch's first runner is (before the jobs fork),
    opened anew by each process.
    """

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="grader-timing-", suffix=".lock")
        os.close(fd)
        self.workers = Path(tempfile.mkdtemp(prefix="grader-workers-"))  # one file per worker frozen by signals
        self._owner = os.getpid()
        self._fd: int | None = None
        self._pid = -1
        self._exclusive = 0
        self._shared = 0

    def register(self, job: int | None, label: str, outer: int, uid: int | None) -> Path | None:
        """List a worker of job ``job`` frozen by signals (its outer process, and its uid as
        root), for the other jobs' timing checks to freeze; the file to remove when it is gone."""
        start = start_of(outer)
        if start is None:
            return None
        entry = self.workers / f"job{job}-{outer}"
        try:
            entry.write_text(json.dumps({"label": label, "outer": outer, "start": start, "uid": uid}))
        except OSError:
            return None
        return entry

    def others(self, job: int | None) -> list[SiblingWorker]:
        """The workers the batch's jobs other than ``job`` listed (``register``)."""
        found = []
        try:
            entries = [e for e in self.workers.iterdir() if not e.name.startswith(f"job{job}-")]
        except OSError:
            return []
        for entry in entries:
            if entry.suffix == ".escaped":
                continue
            try:
                found.append(SiblingWorker(json.loads(entry.read_text()), entry))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # gone meanwhile
        return found

    def _lockfile(self) -> int | None:
        if self._pid != os.getpid():
            try:
                self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CLOEXEC), os.getpid()
            except OSError:
                self._fd, self._pid = None, os.getpid()
        return self._fd

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        fd = self._lockfile()
        if fd is None or self._exclusive or self._shared:  # held already, by this process
            yield
            return
        _lock(fd, fcntl.LOCK_SH)
        self._shared += 1
        try:
            yield
        finally:
            self._shared -= 1
            fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def alone(self, others: list[Any] = []) -> Iterator[None]:  # noqa: B006 - never changed
        """Hold the batch exclusively; ``others`` (the other jobs' cgroup folders, and their
        workers frozen by signals) are frozen meanwhile. FreezeError (the lock released,
        everything continued) where one of those workers cannot be shown frozen."""
        fd = self._lockfile()
        if self._shared:
            raise RuntimeError("a timing check cannot start inside a request")
        if fd is not None and not self._exclusive:
            _lock(fd, fcntl.LOCK_EX)
        self._exclusive += 1
        frozen: list[Any] = []
        ran: list[str] = []
        try:
            for other in others:
                if other.freeze():
                    frozen.append(other)
            yield
        finally:
            for other in frozen:
                if (what := other.thaw()) is not None:
                    ran.append(f"{getattr(other, 'label', 'a worker')}: {what}")
            self._exclusive -= 1
            if fd is not None and not self._exclusive:
                fcntl.flock(fd, fcntl.LOCK_UN)
        if ran:  # (only where the timing itself ended without an error)
            raise FreezeBroken("another job's worker ran while this check was timed, and was stopped for good: "
                               + "; ".join(ran))

    def close(self) -> None:
        if os.getpid() == self._owner:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            shutil.rmtree(self.workers, ignore_errors=True)


class SiblingWorker:
    """Another job's worker, frozen by signals (``Quiet.register``) while this job's timing
    check runs: found by its outer process (pid and start time), then its PID namespace
    (held open meanwhile) or, as root, its uid."""

    def __init__(self, entry: dict[str, Any], path: Path | None = None) -> None:
        self.label, self.outer, self.start = str(entry["label"]), int(entry["outer"]), int(entry["start"])
        self.uid = None if entry["uid"] is None else int(entry["uid"])
        self.path = path  # its entry in the batch's folder (``Quiet.register``)
        self._frozen: _freeze.Frozen | None = None
        self._fd: int | None = None

    def freeze(self) -> bool:
        """True once every process of it is shown stopped; False if it is gone; FreezeError
        (nothing left stopped) if it cannot be shown frozen."""
        if self.uid is not None:
            owner = _freeze.Owner(uid=self.uid)
        else:
            pinned = namespace_of(self.outer)
            if pinned is None or start_of(self.outer) != self.start:  # gone (its pid may be another's now)
                if pinned is not None:
                    os.close(pinned[1])
                return False
            ns, self._fd = pinned
            owner = _freeze.Owner(pidns=ns, init=init_of(self.outer))
        try:
            self._frozen = _freeze.stop(owner)
        except _freeze.Incomplete as exc:
            if exc.running:  # its own processes run on under SIGSTOP: on purpose, and at another student's cost
                self._stop_for_good(owner, str(exc))
                self.thaw()
                return False
            self.thaw()
            raise FreezeError(freeze_refused(f"{self.label} (in another job of the batch)", str(exc))) from None
        return True

    def thaw(self) -> str | None:
        """Continue it; None, or what of it ran while it was frozen (it is then killed, and
        its job told why: see ``_stop_for_good``)."""
        ran = None
        if self._frozen is not None:
            ran = _freeze.held(self._frozen)
            if ran is not None and self._frozen.owner is not None:
                self._stop_for_good(self._frozen.owner, ran)
            _freeze.cont(self._frozen)
            self._frozen = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return ran

    def _stop_for_good(self, owner: _freeze.Owner, why: str) -> None:
        """Kill every process of this worker (its job's next request finds it dead) and leave
        its job a note of why, beside its entry (``Worker._crashed`` reads it)."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.with_name(self.path.name + ".escaped").write_text(why)
        if owner.init is not None:  # rootless: the namespace dies with its PID 1
            _freeze.send(*owner.init, signal.SIGKILL)
        for _ in range(50):
            procs = _freeze.listing(owner, _freeze.pid_max()) or {}
            if not procs:
                break
            for pid, p in procs.items():
                _freeze.send(pid, p.start, signal.SIGKILL)
            time.sleep(0.02)

