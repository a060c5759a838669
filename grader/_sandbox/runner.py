"""The trusted side of the boundary: start, talk to, limit, freeze and kill workers.

A ``Runner`` starts ``Worker``s; this module has the local one (a process on this
machine). Every worker runs the ``_worker`` package in a private folder holding a copy of the
student's allow-listed files and nothing else, under ``python -I`` with a scrubbed
environment, in its own session (so its whole process group can be frozen or killed),
as an unprivileged user when the grader runs as root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, NoReturn, Protocol

from . import freeze as _freeze
from .. import _worker
from .cgroup import Cgroups, delegation_hint
from .._exceptions import DriverError, FreezeBroken, FreezeError, FreezeEscaped, NotWritten, freeze_escaped, SandboxError, StudentError, WorkerCrashed, WorkerTimeout, WrongAnswer
from .._course.limits import Limits as Limits  # re-exported: where every default of a worker's limits is
from .._course.models import WorkerFault, WorkerReply

log = logging.getLogger(__name__)

_WORKER_PACKAGE = Path(_worker.__file__).parent  # grader/_worker/: copied whole into each worker's folder
_WORKER_MAIN = _WORKER_PACKAGE / "__main__.py"
WORKER_NAME = "_grader_worker"  # the package's name in a worker (no student file is named so)


def install_worker(folder: Path) -> Path:
    """Copy the worker package into ``folder`` (as ``_grader_worker/``, sources only); return
    the script a worker, a zygote or a box is started with."""
    shutil.copytree(_WORKER_PACKAGE, folder / WORKER_NAME, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    copy_function=shutil.copyfile)  # bytes only: no modes, no owners
    return folder / WORKER_NAME / "__main__.py"
MAX_REPLY_BYTES = 1 << 30  # a reply larger than this is refused (the student's answer cannot be that big)
MEMORY_MARGIN_MB = 256  # a worker's cgroup may hold this much more than its limit (page cache)
START_TIMEOUT = 120.0
WALL_BACKSTOP = 3.0  # a call may take this many times its limit in wall time while its CPU time stays under it  # importing torch in the worker: the harness's cost, not the student's


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs: the student's files (or the template's, for a baseline)."""

    label: str  # for messages: "alice/bn_remove"
    files: dict[str, Path]  # name in the worker's folder -> source path (allow-listed already)
    module: str  # the student module to import, e.g. "bn_remove"
    driver: Path  # the problem's driver, run inside the worker
    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"
    hide: tuple[Path, ...] = ()  # folders the worker must not see (as root): course secrets, other students, output
    # Workers of the same submission may run one after another in one sandbox (a container
    # of the Docker runner); None: this worker's sandbox serves no other.
    submission: str | None = None


class Worker(Protocol):
    label: str
    last_wall: float  # seconds the last request took, measured on this side

    def request(self, header: dict[str, Any], values: dict[str, Any] | None, timeout: float) -> dict[str, Any]: ...

    def freeze(self) -> None: ...

    def thaw(self) -> str | None:
        """Continue what ``freeze`` stopped; None, or what of the worker ran meanwhile."""

    def output(self) -> str: ...

    def close(self) -> None: ...


class Runner(Protocol):
    @property
    def isolation(self) -> str:
        """What contains its workers: "root", "rootless", "container" or "none" (see ISOLATIONS)."""

    def start(self, spec: WorkerSpec) -> Worker: ...

    def request(self) -> contextlib.AbstractContextManager[None]:
        """Held around every request to a worker; waits while a timing check runs alone."""

    def alone(self) -> contextlib.AbstractContextManager[None]:
        """Held around a timing check: no other job of the batch has a call in flight, and
        what they started is frozen where it can be."""

    def release(self, submission: str) -> None:
        """No more workers of ``submission`` will be started: free what was kept for them."""

    @property
    def device(self) -> str | None:
        """The device its workers run on where the runner itself decides it (Docker: "cuda"
        with GPUs, else "cpu"); None where the caller decides (local: the batch's device)."""

    def gpu_count(self) -> int:
        """How many GPUs its workers may use when they run on CUDA (0: none); a parallel
        batch on CUDA runs this many jobs by default, one per GPU."""

    def fresh(self, job: int, jobs: int) -> Runner:
        """A runner of the same kind for job ``job`` of a parallel batch of ``jobs``, made in
        that job's own (forked) process. The one place a job gets its GPU: with more than one
        job, its workers on CUDA see only ``job_gpu(job, jobs)``."""

    def close(self) -> None:
        """Free everything it holds (zygotes, containers, cgroups, the timing lock it made);
        also when the batch was interrupted."""


def visible_gpus() -> list[str]:
    """The NVIDIA GPUs of this machine, by index (CUDA_VISIBLE_DEVICES narrows them)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip() and g.strip() != "-1"]
    import glob

    return sorted((p.removeprefix("/dev/nvidia") for p in glob.glob("/dev/nvidia[0-9]*")), key=int)


def job_gpu(job: int, jobs: int) -> str | None:
    """The GPU job ``job`` of a parallel batch of ``jobs`` has to itself: one GPU per job, in
    turn over the visible ones; None for a batch of one job (it keeps them all) or where no
    GPU is visible. Every runner's ``fresh`` gives a job its GPU by this rule."""
    gpus = visible_gpus()
    return gpus[job % len(gpus)] if jobs > 1 and gpus else None


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping the first ``keep`` bytes: a flood never blocks the worker."""

    def __init__(self, stream: Any, keep: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.keep = stream, keep
        self.kept = bytearray()
        self.total = 0

    def run(self) -> None:
        while chunk := self.stream.read1(1 << 16) if hasattr(self.stream, "read1") else self.stream.read(1 << 16):
            self.total += len(chunk)
            room = self.keep - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]

    def text(self) -> str:
        s = self.kept.decode("utf-8", "replace")
        if self.total > len(self.kept):
            s += f"\n[... {self.total - len(self.kept)} more bytes of output dropped]"
        return s


def worker_uid() -> int | None:
    """A uid no other process has, for one worker, when the grader is root; None otherwise.

    A uid of its own means the worker cannot read other workers' folders, cannot signal
    any other process, counts its own processes (RLIMIT_NPROC), and everything it starts
    can be found and killed by uid, even what left its session.
    """
    if os.geteuid() != 0:
        return None
    return (1 << 20) + secrets.randbelow(1 << 29)


def worker_policy(isolation: str, limits: Limits, uid: int | None = None, hide: tuple[Path, ...] = ()) -> _worker.Policy:
    """The isolation policy one worker is started with (the only place one is built): the
    runner's mode ("root", "rootless" or "none"), as root the worker's own ``uid``, the
    folders it must not see, and its ``limits``' sizes. The worker reads it and isolates
    itself by it (``_worker.isolation``); "none" (a container's worker, --unsandboxed) makes
    no namespaces and sets no size. SandboxError for what the worker would refuse (a size of 0)."""
    try:
        if isolation == "none":
            return _worker.Policy(mode="none")
        return _worker.Policy(mode=isolation, uid=uid, hide=tuple(str(p) for p in hide), nproc=limits.nproc,
                              disk_mb=limits.disk_mb, shm_mb=limits.shm_mb)
    except ValueError as exc:
        raise SandboxError(f"cannot start a worker: {exc}") from None


_signal_uid = _worker.signal_uid  # the zygote needs it too, and the worker package stands alone
_signal_namespace = _worker.signal_namespace

ISOLATIONS = {
    "root": "root namespaces (mount, PID, network, IPC; a uid of its own per worker; no capabilities; seccomp)",
    "rootless": "rootless namespaces (a user namespace, and in it mount, PID, network, IPC; no capabilities; seccomp)",
    "container": "containers (Docker: no network, read-only root, no capabilities, Docker's seccomp and the worker's own)",
    "none": "NONE: workers run as you, with your files in reach (--unsandboxed)",
}


_probed: dict[str, str | None] = {}


def local_isolation() -> tuple[str, str | None]:
    """The isolation local workers get on this machine: ("root", None) when the grader is
    root; ("rootless", None) when this user may make a user namespace and, in it, the
    namespaces and mounts a worker makes (probed once, in a process of its own: the
    worker's own code, ``_worker/__main__.py --probe``); else ("none", why)."""
    if os.geteuid() == 0:
        return "root", None
    if "why" not in _probed:
        try:
            done = subprocess.run([sys.executable, "-I", "-S", str(_WORKER_MAIN), "--probe"], capture_output=True,
                                  timeout=30, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL)
            _probed["why"] = None if done.returncode == 0 else (done.stdout.decode("utf-8", "replace").strip() or
                                                                 f"the probe exited {done.returncode}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            _probed["why"] = f"the probe did not run: {exc}"
    why = _probed["why"]
    return ("none", why) if why else ("rootless", None)


def refuse_unsandboxed(why: str | None) -> NoReturn:
    raise SandboxError(
        "Student code cannot be isolated here: this kernel refuses an ordinary user the user namespaces "
        f"workers are contained with ({why}). Workers would run as you, able to read your files (the "
        "course's references and hidden tests) and signal your processes. Grade as root, or in Docker "
        "(--runner docker), or allow unprivileged user namespaces (e.g. sysctl kernel.unprivileged_userns_clone=1, "
        "or on Ubuntu 24.04+ kernel.apparmor_restrict_unprivileged_userns=0); or pass --unsandboxed "
        "(or set GRADER_UNSANDBOXED=1) to grade anyway, which every result then records."
    )


def _namespace_of(pid: int) -> tuple[str, int] | None:
    """The PID namespace the worker ``pid`` made for what it runs (its ``pid_for_children``),
    read here, not reported by the worker, and an open descriptor of it; None if it is this
    process's own (none was made). The descriptor pins the namespace: the kernel gives a
    freed namespace's number to the next one made (the lowest free), so without it, a kill
    by namespace that runs on after the worker's has died could reach a new worker's, of
    this grader or of another one of this user (a concurrent job, a Slurm task on the node)."""
    try:
        fd = os.open(f"/proc/{pid}/ns/pid_for_children", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        ns = os.readlink(f"/proc/self/fd/{fd}")
        if ns != os.readlink("/proc/self/ns/pid"):
            return ns, fd
    except OSError:
        pass
    os.close(fd)
    return None


def _start_of(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot): with the pid, which process it is."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _init_of(outer: int) -> tuple[int, int] | None:
    """The PID 1 of the namespace a rootless worker's outer process made: its only child, by
    pid and start time (read here; a freeze counts it the worker's even if its namespace
    link is hidden)."""
    try:
        with open(f"/proc/{outer}/task/{outer}/children") as f:
            children = [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return None
    start = _start_of(children[0]) if len(children) == 1 else None
    return None if start is None else (children[0], start)


def freeze_refused(label: str, why: str) -> str:
    """What a timing check says when the other side's worker could not be shown frozen."""
    return (
        f"No verdict on speed: the worker of {label} could not be shown frozen ({why}), so its processes may have "
        "run while the other side was timed. What to do: grade where each worker gets a cgroup of its own, which "
        f"the kernel freezes whole: as root; {delegation_hint()}; or with --runner docker. Then grade this "
        "student again (--regrade NAME)."
    )


def _reported_seconds(value: Any, wall: float) -> float:
    """A duration the worker reported about itself, made safe to store: a number, finite,
    between 0 and the wall time measured here (the student's process can send anything)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return wall
    if not math.isfinite(seconds) or seconds < 0 or seconds > wall:
        return wall
    return seconds


def write_by(fd: int, data: bytes, deadline: float) -> None:
    """Write all of ``data`` to the pipe ``fd`` by ``deadline`` (TimeoutError past it)."""
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        _, ready, _ = select.select([], [fd], [], left)
        if not ready:
            raise TimeoutError
        os.set_blocking(fd, False)
        try:
            n = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            n = 0
        finally:
            os.set_blocking(fd, True)
        view = view[n:]


_warned: set[str] = set()


def _scrubbed_env(home: Path, threads: int, device: str) -> dict[str, str]:
    """Only what the worker needs: no tokens, no PYTHON*, no proxies, nothing of the instructor's."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TORCH_HOME": str(home / "torch"),
    }
    if device.startswith("cuda"):
        for key in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
            if key in os.environ:
                env[key] = os.environ[key]
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


class FramedWorker:
    """What every worker shares: a request channel, a reply channel read here with a
    deadline, and the faults its replies report. Subclasses start the worker, and say how
    it died, and how to freeze, thaw and kill it.
    """

    label: str
    spec: WorkerSpec
    _rep_r: int  # the read end of the reply channel (a pipe)
    _dead: bool = False
    witness: list[str] = []  # what a watch in the worker reported during the last request
    last_wall: float = 0.0  # seconds the last request took, as measured here (its inputs encoded before)
    charged: float = 0.0  # seconds of it charged to the student's time limits (CPU time, at most wall time)
    _deadline: float = 0.0

    def _send(self, data: bytes, deadline: float) -> None:
        """Write ``data`` to the request channel by ``deadline`` (TimeoutError past it: a
        worker that stops reading its requests cannot block the grader)."""
        raise NotImplementedError

    def _died(self) -> NoReturn:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def output(self) -> str:
        raise NotImplementedError

    def _started(self) -> None:
        try:
            ready, _ = self._read(START_TIMEOUT, starting=True)
        except (WorkerCrashed, WrongAnswer) as exc:  # no student code has run yet: this is ours
            raise SandboxError(f"the worker for {self.label} failed to start: {exc}") from None
        for gap in ready.info.get("not_isolated", []):
            if gap not in _warned:
                _warned.add(gap)
                log.warning("workers are not fully isolated: no %s", gap)

    def _crashed(self, ended: tuple[int, int] | None, killed: str = "was killed") -> NoReturn:
        """Say how the worker ended, in the student's terms: ``ended`` is (signal or 0, exit
        status), None when it is not known; ``killed`` is what a SIGKILL means here."""
        listed: Path | None = getattr(self, "_listed", None)  # a local worker frozen by signals (Quiet.register)
        escaped = listed.with_name(listed.name + ".escaped") if listed is not None else None
        if escaped is not None and escaped.is_file():
            said = "what ran is not known"
            with contextlib.suppress(OSError):
                said = escaped.read_text()[:500]
                escaped.unlink()
            raise WorkerCrashed(
                "The process running your code was stopped for good: it kept running while the grader had it stopped "
                f"to time another student's code ({said}). Processes that run on under SIGSTOP (a timer that sends "
                "SIGCONT, a process continuing another) are never there by accident. Leave no process or timer "
                "running when your functions return.")
        if ended is None:
            why = "closed its connection to the grader"
        elif ended[0]:
            try:
                sig = signal.Signals(ended[0]).name
            except ValueError:
                sig = f"signal {ended[0]}"
            why = {
                "SIGKILL": killed,
                "SIGXCPU": "used more CPU time than allowed",
                "SIGXFSZ": "wrote a file larger than allowed",
                "SIGSEGV": "crashed (segmentation fault)",
            }.get(sig, f"was stopped by {sig}")
        else:
            why = f"exited with status {ended[1]} (os._exit() in your code?)"
        tail = self.output().strip()
        raise WorkerCrashed(f"The process running your code {why}." + (f"\nIts last output:\n{tail[-2000:]}" if tail else ""))

    def request(self, header: dict[str, Any], values: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        """Send one request; return the decoded reply values, or raise what the student's code caused."""
        if self._dead:
            raise SandboxError(f"worker {self.label} is closed")
        plain, payload = _worker.encode(values or {})
        self.witness: list[str] = []
        self.charged = math.inf  # until the call ends: a crash is charged its wall time
        started = time.monotonic()
        sent = time.perf_counter()
        self._budget(timeout)
        try:
            self._send(_worker.frame({**header, "values": plain}, payload), time.monotonic() + timeout)
        except TimeoutError:
            self._timed_out(timeout)
        except (BrokenPipeError, OSError):
            self._died()
        reply, data = self._read(timeout - (time.monotonic() - started), budgeted=True)
        self.last_wall = time.perf_counter() - sent  # from the request's first byte to the reply's last
        self.charged = self._charged()
        if not reply.ok:
            assert reply.fault is not None
            self._raise_fault(reply.fault)
        try:
            values_out = _worker.decode(reply.values, data)
        except Exception as exc:  # malformed payload: the student's process sent garbage
            self._broken(f"data it cannot read ({type(exc).__name__})")
        values_out["__elapsed__"] = _reported_seconds(reply.info.get("elapsed"), time.monotonic() - started)
        values_out["__witness__"] = list(self.witness)
        return values_out

    def _raise_fault(self, fault: WorkerFault) -> None:
        frames = f"\n{fault.frames.rstrip()}" if fault.frames.strip() else ""
        if fault.kind == "driver":  # the course's driver, not the student: an internal error of the grader
            driver = Path(*self.spec.driver.parts[-4:])  # rubrics/<assignment>/drivers/<problem>.py
            raise DriverError(f"the driver {driver} (for {self.label}): {fault.message}")
        if fault.kind == "wrong":
            raise WrongAnswer(fault.message)
        if fault.kind == "not_implemented":
            raise NotWritten(f"Not written yet: {fault.message or 'NotImplementedError'}{frames}")
        if fault.kind == "import":
            where = f"\n{fault.traceback.rstrip()}" if fault.traceback else ""
            hint = ""
            if fault.type == "ModuleNotFoundError":
                hint = ("\nThe grader has only torch, torchvision, numpy and Python's standard library. Put experiments "
                        "(plots, training runs, imports they need) under `if __name__ == \"__main__\":`, which the "
                        "grader does not run.")
            raise StudentError(f"Importing {self.spec.module}.py failed: {fault.type}: {fault.message}{where}{hint}")
        if fault.kind == "unknown":
            raise StudentError(
                f"Using what your code returned failed with {fault.type}: {fault.message}\n"
                "(check the type and shape of what you return against the assignment's contract)"
            )
        raise StudentError(f"Your code raised {fault.type}: {fault.message}{frames}")

    def _read(self, timeout: float, starting: bool = False, ending: bool = False, budgeted: bool = False) -> tuple[WorkerReply, bytes]:
        """The next reply frame. An ``ended`` frame (a container's box: the worker exited) is
        a crash, unless ``ending`` (the worker was asked to exit). ``witness`` frames (what a
        watch saw while the call ran, sent as it happened) are kept in ``self.witness``."""
        self._deadline = time.monotonic() + timeout
        if not budgeted:
            self._budget(timeout)
            self._cpu0: float | None = None  # starting, closing: wall time only
        while True:
            reply, data = self._frame(timeout, starting)
            if reply.witness is None or reply.ok or reply.fault is not None or reply.ended is not None:
                break
            if len(self.witness) < 100:
                self.witness.append(reply.witness)
        if reply.ended is not None and not ending:  # it exited while a reply was due: os._exit(0)?
            self.kill()
            self._crashed((0, reply.ended))
        return reply, data

    def _frame(self, timeout: float, starting: bool) -> tuple[WorkerReply, bytes]:
        try:
            (hlen,) = _worker.LENGTH.unpack(self._recv(_worker.LENGTH.size))
            if hlen > 16 << 20:
                self._broken("an oversized reply header")
            head = self._recv(hlen)
            (plen,) = _worker.LENGTH.unpack(self._recv(_worker.LENGTH.size))
            if plen > MAX_REPLY_BYTES:
                self._broken(f"a reply of {plen} bytes (at most {MAX_REPLY_BYTES} are accepted)")
            data = self._recv(plen) if plen else b""
        except TimeoutError:
            if starting:
                self.kill()
                raise SandboxError(f"the worker for {self.label} did not start within {timeout:.0f} s") from None
            self._timed_out(timeout)
        except EOFError:
            self._died()
        try:
            reply = WorkerReply.model_validate_json(head)
        except ValueError as exc:
            self._broken(f"a malformed reply ({exc.__class__.__name__})")
        return reply, data

    def _timed_out(self, timeout: float) -> NoReturn:
        self.charged = timeout
        self.kill()
        raise WorkerTimeout(f"Your code did not finish within {timeout:.3g} s, so it was stopped.") from None

    # A time limit counts the CPU time the worker's processes used (where it can be read: a
    # cgroup's cpu.stat), so that a loaded machine, which gives each process less of a core,
    # does not turn a slow-but-correct submission into a timeout. Never stricter than wall
    # time; code that sleeps or blocks (no CPU) is stopped by a wall-clock backstop.

    def cpu_seconds(self) -> float | None:
        """CPU seconds used so far by every process and thread of the worker; None: unknown."""
        return None

    def _budget(self, timeout: float) -> None:
        self._limit, self._started_at, self._cpu0 = timeout, time.monotonic(), self.cpu_seconds()

    def _extended(self) -> bool:
        """Past the wall deadline: move it on when the worker has used less CPU time than its
        limit and the backstop is not reached; False when the call is out of time."""
        cpu0 = getattr(self, "_cpu0", None)
        now_cpu = self.cpu_seconds() if cpu0 is not None else None
        if cpu0 is None or now_cpu is None:
            return False
        now, limit = time.monotonic(), self._limit
        backstop = self._started_at + max(WALL_BACKSTOP * limit, limit + 30.0)
        used = now_cpu - cpu0
        if used >= limit or now >= backstop:
            return False
        self._deadline = min(now + max(limit - used, 0.25), backstop)
        return True

    def _charged(self) -> float:
        """Seconds of the last request charged to the student: its CPU time, at most its wall time."""
        wall = time.monotonic() - self._started_at
        cpu0 = getattr(self, "_cpu0", None)
        now_cpu = self.cpu_seconds() if cpu0 is not None else None
        return wall if cpu0 is None or now_cpu is None else max(0.0, min(wall, now_cpu - cpu0))

    def _broken(self, what: str) -> NoReturn:
        """The channel can no longer be trusted to be in step: end this worker (a fresh one runs the next call)."""
        self.kill()
        raise WorkerCrashed(f"The process running your code sent the grader {what}; it was stopped.")

    def _recv(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            left = self._deadline - time.monotonic()
            if left <= 0 and not self._extended():
                raise TimeoutError
            ready, _, _ = select.select([self._rep_r], [], [], max(left, 0.0))
            if not ready and not self._extended():
                raise TimeoutError
            if not ready:
                continue
            chunk = os.read(self._rep_r, min(n - got, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


class _ZygoteChild:
    """A worker forked by the zygote: what LocalWorker needs of a Popen (pid, wait)."""

    def __init__(self, zygote: "Zygote", pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.zygote.wait(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        return self.returncode


class Zygote:
    """A pre-imported template process that forks fresh workers (``_worker.zygote``).

    Starting a worker from scratch costs an interpreter, ``import torch`` and torch's lazy
    imports: seconds, for every student and problem. The zygote pays them once per batch;
    each worker is then a fork (tens of milliseconds) that isolates itself, as root, exactly
    as a worker started from scratch does. The zygote never runs student code, and when
    the grader runs as root no worker can signal or trace it (another uid). If it dies, the
    next worker starts a new one.
    """

    def __init__(self, device: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="grader-zygote-"))
        script = install_worker(self.dir)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._log = open(self.dir / "zygote.log", "w+b")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-u", str(script), "--zygote", "--ctl-fd", str(theirs.fileno())],
                cwd=self.dir, env=_scrubbed_env(self.dir, 1, device), stdin=subprocess.DEVNULL,
                stdout=self._log, stderr=self._log, pass_fds=(theirs.fileno(),), start_new_session=True,
            )  # fmt: skip
        finally:
            theirs.close()
        self.sock = ours
        self.codes: dict[int, int] = {}
        self.dead = False
        self._replies: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._spawning = threading.Lock()
        ours.settimeout(START_TIMEOUT)
        try:
            hello = json.loads(ours.recv(1 << 16) or b"{}")
        except (OSError, ValueError):
            hello = {}
        if "ready" not in hello:
            self.close()
            self._log.seek(0)
            raise SandboxError(f"the zygote did not start: {self._log.read()[-2000:].decode('utf-8', 'replace')}")
        ours.settimeout(None)
        threading.Thread(target=self._listen, daemon=True, name="grader-zygote").start()

    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
                message = json.loads(data) if data else None
            except (OSError, ValueError):
                message = None
            with self._cond:
                if message is None:
                    self.dead = True
                    self._cond.notify_all()
                    return
                if "exit" in message:
                    self.codes[int(message["exit"])] = int(message["code"])
                else:
                    self._replies.append(message)
                self._cond.notify_all()

    def spawn(self, argv: list[str], env: dict[str, str], home: Path, cwd: Path, fds: list[int]) -> _ZygoteChild:
        with self._spawning:
            request = json.dumps({"argv": argv, "env": env, "home": str(home), "cwd": str(cwd)}).encode()
            try:
                socket.send_fds(self.sock, [request], fds)
            except OSError as exc:
                raise SandboxError(f"the zygote is gone: {exc}") from exc
            with self._cond:
                if not self._cond.wait_for(lambda: self._replies or self.dead, timeout=30):
                    raise SandboxError("the zygote did not answer within 30 s")
                if not self._replies:
                    raise SandboxError("the zygote is gone")
                reply = self._replies.pop(0)
        if "pid" not in reply:
            raise SandboxError(f"the zygote refused a worker: {reply.get('error')}")
        return _ZygoteChild(self, int(reply["pid"]))

    def wait(self, pid: int, timeout: float | None) -> int | None:
        with self._cond:
            self._cond.wait_for(lambda: pid in self.codes or self.dead, timeout)
            return self.codes.pop(pid, None)

    def close(self) -> None:
        # The zygote exits when it sees the socket closed. close() alone does not close it
        # while the listening thread sits in recv() on it (the kernel keeps the socket for
        # that call, so the zygote saw nothing and was killed after 5 s: at the end of every
        # batch); shutdown() ends the recv and tells the zygote at once.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already gone
            pass
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class LocalWorker(FramedWorker):
    """A worker process on this machine: forked by ``zygote`` when given, else started from scratch."""

    def __init__(self, spec: WorkerSpec, zygote: Zygote | None = None, cgroups: Cgroups | None = None,
                 isolation: str = "none", listed: tuple[Quiet, int | None] | None = None) -> None:
        self.label = spec.label
        self.spec = spec
        self.isolation = isolation
        self.uid = worker_uid() if isolation == "root" else None
        policy = worker_policy(isolation, spec.limits, self.uid, spec.hide)
        self.dir = Path(tempfile.mkdtemp(prefix="grader-worker-"))
        sub = self.dir / "sub"
        (self.dir / "tmp").mkdir()
        sub.mkdir()
        for name, src in spec.files.items():
            shutil.copyfile(src, sub / name)  # copy bytes only: no symlinks, no modes, no owners
        script = install_worker(self.dir)
        shutil.copyfile(spec.driver, self.dir / "driver.py")
        self.pidns: str | None = None  # rootless: the worker's PID namespace, how it is frozen and killed
        self._pidns_fd: int | None = None  # held open while the worker may be signalled: see _namespace_of
        if self.uid is not None:
            for path in [self.dir, *self.dir.rglob("*")]:
                os.chown(path, self.uid, self.uid)
        os.chmod(self.dir, 0o700)

        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        lim = spec.limits
        args = [
            "--req-fd", str(req_r), "--rep-fd", str(rep_w),
            "--sub", str(sub), "--driver", str(self.dir / "driver.py"), "--module", spec.module,
            "--threads", str(lim.threads), "--memory-mb", str(lim.memory_mb),
            "--file-mb", str(lim.file_mb), "--cpu-seconds", str(lim.cpu_seconds), "--device", spec.device,
        ]  # fmt: skip
        # The worker isolates itself by it (as root: then drops to this uid) before any student code.
        args += ["--policy", policy.to_json()]
        self.cgroup = cgroups.make(f"w-{secrets.token_hex(6)}") if cgroups is not None else None
        if self.cgroup is not None:  # the worker joins it first: everything it starts is in it
            # Memory counted by the kernel, shared mappings included (RLIMIT_DATA counts none of
            # them); the margin is for the page cache of what the worker reads.
            self.cgroup.limit_memory(lim.memory_mb + MEMORY_MARGIN_MB)
            self.cgroup.limit_pids(lim.nproc + 8)  # its processes and threads, PID 1 and the outer one: RLIMIT_NPROC's bound, kernel-counted
            args += [a for folder in self.cgroup.folders for a in ("--cgroup", str(folder))]
        self._stopped = False  # frozen by signals (no cgroup, or it did not freeze)
        self._frozen: _freeze.Frozen | None = None  # what the last freeze by signals stopped
        self._listed: Path | None = None  # where the other jobs of the batch find it (frozen by signals)
        self._init: tuple[int, int] | None = None  # rootless: its PID namespace's PID 1 (pid, start time)
        env = _scrubbed_env(self.dir, lim.threads, spec.device)
        try:
            if zygote is not None:
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                try:
                    self.proc: Any = zygote.spawn(args, env, self.dir, sub, [req_r, rep_w, out_w, err_w])
                except BaseException:
                    os.close(out_r)
                    os.close(err_r)
                    raise
                finally:
                    os.close(out_w)
                    os.close(err_w)
                stdout, stderr = os.fdopen(out_r, "rb", buffering=0), os.fdopen(err_r, "rb", buffering=0)
            else:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-u", str(script), *args],
                    cwd=sub,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    pass_fds=(req_r, rep_w),
                    start_new_session=True,
                )
                stdout, stderr = self.proc.stdout, self.proc.stderr
        except OSError as exc:
            os.close(self._req_w)
            os.close(self._rep_r)
            if self.cgroup is not None:
                self.cgroup.remove()
            raise SandboxError(f"cannot start a worker for {spec.label}: {exc}") from exc
        finally:
            os.close(req_r)
            os.close(rep_w)
        self._out = _Drain(stdout, lim.output_bytes)
        self._err = _Drain(stderr, lim.output_bytes)
        self._out.start()
        self._err.start()
        self._dead = False
        self._started()
        if isolation == "rootless":
            pinned = _namespace_of(self.proc.pid)
            if pinned is not None:
                self.pidns, self._pidns_fd = pinned
                self._init = _init_of(self.proc.pid)
        if listed is not None and (self.cgroup is None or self.cgroup.empty()) and (self.uid is not None or self.pidns is not None):
            quiet, job = listed  # the batch's, and this worker's job in it: the other jobs freeze it by signals
            self._listed = quiet.register(job, spec.label, self.proc.pid, self.uid)

    def _send(self, data: bytes, deadline: float) -> None:
        write_by(self._req_w, data, deadline)

    def _died(self) -> NoReturn:
        """The worker is gone: say how, in the student's terms."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        killed = "was killed (most often: it used more memory than allowed)"
        self._crashed(None if code is None else (-code if code < 0 else 0, code), killed)

    # ------------------------------------------------------------ lifecycle --

    def cpu_seconds(self) -> float | None:
        return self.cgroup.cpu_seconds() if self.cgroup is not None else None

    def freeze(self) -> None:
        """Stop every process and thread of this worker (so nothing it started can disturb a
        baseline timing): the cgroup freezer where the worker has a cgroup, whatever state its
        processes seem to be in; else SIGSTOP to every process of its uid (root) or PID
        namespace (rootless), repeated until every one is shown stopped (``_freeze``).
        FreezeError, with everything continued again, where that cannot be shown: a timing
        check then gives no verdict."""
        if self.cgroup is not None and self.cgroup.freeze():
            return
        self._stopped = True
        self._signal(signal.SIGSTOP)
        owner = self._owner()
        try:
            if owner is None:
                raise _freeze.Incomplete("its processes have no PID namespace or uid of their own (--unsandboxed): "
                                         "nothing tells which processes are its")
            self._frozen = _freeze.stop(owner)
        except _freeze.Incomplete as exc:
            self.thaw()
            if exc.running:
                raise FreezeEscaped(freeze_escaped(self.label, str(exc))) from None
            raise FreezeError(freeze_refused(self.label, str(exc))) from None

    def _owner(self) -> _freeze.Owner | None:
        """Whose processes a freeze by signals stops: the worker's uid (root) or its PID
        namespace (rootless, its PID 1 known by pid and start time); None for neither."""
        if self.uid is not None:
            return _freeze.Owner(uid=self.uid)
        if self.pidns is not None:
            return _freeze.Owner(pidns=self.pidns, init=self._init)
        return None

    def thaw(self) -> str | None:
        """Continue the worker; None, or what of it ran while it was frozen by signals (read
        before anything is continued: ``_freeze.held``). A cgroup's freeze holds by itself."""
        ran = None
        if self.cgroup is not None:
            self.cgroup.thaw()
        if self._stopped:
            self._stopped = False
            if self._frozen is not None:
                ran = _freeze.held(self._frozen)
            self._signal(signal.SIGCONT)
            if self._frozen is not None:  # those whose namespace link is hidden too
                _freeze.cont(self._frozen)
                self._frozen = None
        return ran

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        self._every(sig)

    def _every(self, sig: int) -> int:
        """Signal every process of the worker wherever it went (its uid as root, its PID
        namespace rootless); how many there were."""
        if self.uid is not None:
            return _signal_uid(self.uid, sig)
        if self.pidns is not None:
            return _signal_namespace(self.pidns, sig)
        return 0

    def output(self) -> str:
        out, err = self._out.text(), self._err.text()
        return "\n".join(s for s in (out, err) if s.strip())

    def kill(self) -> None:
        if self._dead:
            return
        self._dead = True
        if self._listed is not None:
            with contextlib.suppress(OSError):
                self._listed.unlink()
        if self.cgroup is not None:  # everything in it, at once, in the kernel
            self.cgroup.kill()
        self._signal(signal.SIGKILL)
        # Stop, then kill, until nothing of that uid (or PID namespace) is left: forks race
        # kills. (Rootless, the namespace dies with its PID 1 anyway, killed with the outer
        # process by its parent-death signal; this makes sure, and waits for it.)
        for _ in range(50 if self.uid is not None or self.pidns is not None else 0):
            if not self._every(signal.SIGSTOP):
                break
            self._every(signal.SIGKILL)
            time.sleep(0.02)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("worker %s did not die after SIGKILL", self.label)
        if self._pidns_fd is not None:  # nothing is signalled by that namespace from here on
            self.pidns = None
            os.close(self._pidns_fd)
            self._pidns_fd = None
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._out.join(timeout=2)
        self._err.join(timeout=2)
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self) -> None:
        if not self._dead:
            try:
                self._send(_worker.frame({"op": "exit"}), time.monotonic() + 2)
                self.proc.wait(timeout=2)
            except (OSError, TimeoutError, subprocess.TimeoutExpired):
                pass
        self.kill()


class Quiet:
    """Timing checks run alone in a batch, across its parallel jobs (processes).

    Every request a job sends to a worker holds a shared lock (``request``); a timing check
    holds it exclusively (``alone``), so while it runs no other job has a call in flight,
    and every other job's workers, idle then, are frozen: with their cgroups where they
    have them, else by signals until every process is seen stopped (each job lists such
    workers in the batch's folder, ``register``): nothing another student left running
    (threads, daemons, burners) takes CPU from a baseline or a candidate while they are
    timed. A job waiting for the lock is not charged for the wait (its clocks start after
    it). The lock is ``flock`` on a file made when the batch's first runner is (before the
    jobs fork), opened anew by each process.
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
        start = _start_of(outer)
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
        fcntl.flock(fd, fcntl.LOCK_SH)
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
            fcntl.flock(fd, fcntl.LOCK_EX)
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
            pinned = _namespace_of(self.outer)
            if pinned is None or _start_of(self.outer) != self.start:  # gone (its pid may be another's now)
                if pinned is not None:
                    os.close(pinned[1])
                return False
            ns, self._fd = pinned
            owner = _freeze.Owner(pidns=ns, init=_init_of(self.outer))
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


class LocalRunner:
    """Workers as processes on this machine, forked from a zygote per device (``zygote=False``:
    each started from scratch, paying the interpreter and ``import torch`` every time)."""

    def __init__(self, zygote: bool = True, quiet: Quiet | None = None, batch: Cgroups | None = None, job: int | None = None,
                 unsandboxed: bool = False) -> None:
        self.use_zygote = zygote
        self.unsandboxed = unsandboxed  # may workers run without namespaces where none can be made
        self._isolation: str | None = None
        self._zygotes: dict[str, Zygote] = {}
        self._lock = threading.Lock()
        self.quiet = quiet or Quiet()  # shared by the jobs of a batch: made before they fork
        self._own_quiet = quiet is None
        self._batch, self._job = batch, job
        # A cgroup per worker where this grader may make them; a batch's first runner makes
        # the batch's folder now, so its jobs (forked later) make theirs inside it.
        self.cgroups: Cgroups | None = Cgroups.find() if batch is None and job is None else None
        self._looked = batch is None and job is None

    def warm(self, device: str) -> None:
        """Start the zygote for ``device`` now, in the background, while the trusted side
        imports torch and collects the checks (a self-check's first worker then does not
        wait for it: seconds of a run that takes few)."""
        if self.use_zygote:
            threading.Thread(target=self._zygote, args=(device,), daemon=True, name="grader-zygote-warm").start()

    def _zygote(self, device: str) -> Zygote | None:
        if not self.use_zygote:
            return None
        with self._lock:
            z = self._zygotes.get(device)
            if z is None or z.dead:
                if z is not None:
                    z.close()
                try:
                    z = self._zygotes[device] = Zygote(device)
                except SandboxError as exc:
                    log.warning("%s; workers start from scratch instead", exc)
                    self.use_zygote = False
                    return None
            return z

    def _cgroups(self) -> Cgroups | None:
        with self._lock:
            if not self._looked:
                self._looked = True
                if self._batch is not None:
                    self.cgroups = Cgroups.find(self._batch, f"job-{self._job}")
                elif self._job is None:
                    self.cgroups = Cgroups.find()
            return self.cgroups

    def request(self) -> contextlib.AbstractContextManager[None]:
        """Held around every request to a worker (see ``Quiet``)."""
        return self.quiet.request()

    def alone(self) -> contextlib.AbstractContextManager[None]:
        """Held around a timing check: no other job of the batch runs anything meanwhile."""
        cg = self._cgroups()
        return self.quiet.alone([*(cg.siblings() if cg is not None else []), *self.quiet.others(self._job)])

    @property
    def isolation(self) -> str:
        """What contains this runner's workers: "root", "rootless" or "none" (see
        ``ISOLATIONS``). "none" only with ``unsandboxed``: else SandboxError, saying why and
        what to do, before any student code runs."""
        if self._isolation is None:
            mode, why = local_isolation()
            if mode == "none" and not self.unsandboxed:
                refuse_unsandboxed(why)
            self._isolation = mode
        return self._isolation

    def start(self, spec: WorkerSpec) -> Worker:
        return LocalWorker(spec, self._zygote(spec.device), self._cgroups(), isolation=self.isolation,
                           listed=(self.quiet, self._job))

    def release(self, submission: str) -> None:
        pass  # every local worker is a process of its own: nothing is kept between them

    device: str | None = None  # the caller decides: each worker's spec.device (the batch's device)

    def gpu_count(self) -> int:
        """The GPUs visible here: what its workers may use when the caller has them run on CUDA."""
        return len(visible_gpus())

    def fresh(self, job: int, jobs: int) -> "LocalRunner":
        """A runner of the same kind for job ``job`` of a parallel batch (a zygote of its own;
        its cgroups inside the batch's folder; the batch's timing lock). Made in the job's own
        process, which it narrows to the job's GPU (``job_gpu``; CUDA_VISIBLE_DEVICES, before
        the job's first worker and zygote, and before the job's own torch touches CUDA): its
        workers on CUDA use that GPU only. Workers on the CPU see no GPU whatever this says
        (``_scrubbed_env``)."""
        gpu = job_gpu(job, jobs)
        if gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = gpu
        return LocalRunner(self.use_zygote, quiet=self.quiet, batch=self.cgroups, job=job, unsandboxed=self.unsandboxed)

    def close(self) -> None:
        with self._lock:
            for z in self._zygotes.values():
                z.close()
            self._zygotes.clear()
            if self.cgroups is not None:
                self.cgroups.close()
            self.cgroups, self._looked = None, False
            if self._own_quiet:
                self.quiet.close()
