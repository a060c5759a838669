"""The framed channel every worker shares, whatever starts it (local, zygote, Docker, in-process).

``FramedWorker`` sends a request and reads its reply with a deadline, charges CPU time
where it can be read, and turns the faults a reply reports into the student's errors;
its subclasses start, freeze and kill. Here too what every worker is started from
(``install_worker``, ``scrubbed_env``) and how its output is drained (``Drain``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from .. import _worker
from .runner import WorkerSpec, wall_backstop
from .._exceptions import DriverError, NotWritten, SandboxError, StudentError, WorkerCrashed, WorkerTimeout, WrongAnswer
from .._course.models import WorkerFault, WorkerReply

log = logging.getLogger(__name__)

_WORKER_PACKAGE = Path(_worker.__file__).parent  # grader/_worker/: copied whole into each worker's folder
WORKER_NAME = "_grader_worker"  # the package's name in a worker (no student file is named so)


def stage(spec: WorkerSpec, prefix: str) -> Path:
    """A private folder for one worker: ``sub/`` holding a copy of the student's allow-listed
    files, ``driver.py`` the problem's driver (bytes only: no symlinks, no modes, no owners)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / "sub").mkdir()
    for name, src in spec.files.items():
        shutil.copyfile(src, folder / "sub" / name)
    shutil.copyfile(spec.driver, folder / "driver.py")
    return folder


def install_worker(folder: Path) -> Path:
    """Copy the worker package into ``folder`` (as ``_grader_worker/``, sources only); return
    the script a worker, a zygote or a box is started with."""
    shutil.copytree(_WORKER_PACKAGE, folder / WORKER_NAME, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    copy_function=shutil.copyfile)  # bytes only: no modes, no owners
    return folder / WORKER_NAME / "__main__.py"


MAX_REPLY_BYTES = 1 << 30  # a reply larger than this is refused (the student's answer cannot be that big)
START_TIMEOUT = 120.0  # importing torch in the worker: the harness's cost, not the student's


class Drain(threading.Thread):
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


def scrubbed_env(home: Path, threads: int, device: str) -> dict[str, str]:
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

    @property
    def dead(self) -> bool:
        """Killed or closed: no request may be sent to it again."""
        return self._dead

    def request(self, header: dict[str, Any], values: dict[str, Any] | None, timeout: float,
                wall: float | None = None) -> dict[str, Any]:
        """Send one request; return the decoded reply values, or raise what the student's code caused.

        ``timeout``: the call's limit (CPU time where it can be read); ``wall``: the most wall
        time it may take whatever its CPU time (else the backstop, ``WALL_BACKSTOP`` times
        the limit). A request that ends any other way than with its whole reply read (an
        alarm of the test that made it, an interrupt) kills the worker: its reply could still
        come, and the next request would read it as its own."""
        if self._dead:
            raise SandboxError(f"worker {self.label} is closed")
        plain, payload = _worker.encode(values or {})
        self.witness: list[str] = []
        self.charged = math.inf  # until the call ends: a crash is charged its wall time
        started = time.monotonic()
        sent = time.perf_counter()
        self._budget(timeout, wall)
        first = min(timeout, self._backstop - started)
        complete = False
        try:
            try:
                self._send(_worker.frame({**header, "values": plain}, payload), time.monotonic() + first)
            except TimeoutError:
                self._timed_out(timeout)
            except (BrokenPipeError, OSError):
                self._died()
            reply, data = self._read(first - (time.monotonic() - started), budgeted=True)
            complete = True
        finally:
            if not complete:
                self.kill()  # (idempotent: a timeout or a crash killed it already)
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
        now = time.monotonic()
        if getattr(self, "_walled", False) and now >= self._backstop - 0.05:  # the test's wall time ran out, not this call's limit
            raise WorkerTimeout(
                f"Your code did not finish: after {now - self._started_at:.3g} s of wall-clock time, mostly spent "
                "without computing (sleeping, waiting, blocked), it had used up the wall time it was allowed, so it "
                "was stopped.") from None
        raise WorkerTimeout(f"Your code did not finish within {timeout:.3g} s, so it was stopped.") from None

    # A time limit counts the CPU time the worker's processes used (where it can be read: a
    # cgroup's cpu.stat), so that a loaded machine, which gives each process less of a core,
    # does not turn a slow-but-correct submission into a timeout. Never stricter than wall
    # time; code that sleeps or blocks (no CPU) is stopped by a wall-clock backstop.

    def cpu_seconds(self) -> float | None:
        """CPU seconds used so far by every process and thread of the worker; None: unknown."""
        return None

    def _budget(self, timeout: float, wall: float | None = None) -> None:
        self._limit, self._started_at, self._cpu0 = timeout, time.monotonic(), self.cpu_seconds()
        backstop = wall_backstop(timeout)
        self._walled = wall is not None and wall <= backstop
        self._backstop = self._started_at + (min(backstop, max(wall, 0.0)) if wall is not None else backstop)

    def _extended(self) -> bool:
        """Past the wall deadline: move it on when the worker has used less CPU time than its
        limit and the backstop is not reached; False when the call is out of time."""
        cpu0 = getattr(self, "_cpu0", None)
        now_cpu = self.cpu_seconds() if cpu0 is not None else None
        if cpu0 is None or now_cpu is None:
            return False
        now, limit = time.monotonic(), self._limit
        backstop = self._backstop
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
