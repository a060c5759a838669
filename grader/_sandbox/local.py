"""Local workers: a process on this machine per worker (``LocalWorker``), forked from a
zygote or started from scratch, in a private folder holding a copy of the student's
allow-listed files and nothing else, under ``python -I`` with a scrubbed environment, in its
own session (so its whole process group can be frozen or killed), as an unprivileged user
when the grader runs as root; and the runner that starts them (``LocalRunner``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from . import freeze as _freeze
from .. import _worker
from .cgroup import Cgroups
from .channel import Drain, FramedWorker, install_worker, scrubbed_env, stage, write_by
from .isolation import init_of, local_isolation, namespace_of, refuse_unsandboxed, start_of, worker_policy, worker_uid
from .quiet import Quiet, freeze_refused
from .runner import Worker, WorkerSpec, job_gpu, visible_gpus
from .zygote import Zygote
from .._exceptions import FreezeError, FreezeEscaped, SandboxError, freeze_escaped

log = logging.getLogger(__name__)

MEMORY_MARGIN_MB = 256  # a worker's cgroup may hold this much more than its limit (page cache)

_signal_uid = _worker.signal_uid  # the zygote needs it too, and the worker package stands alone
_signal_namespace = _worker.signal_namespace


class LocalWorker(FramedWorker):
    """A worker process on this machine: forked by ``zygote`` when given, else started from scratch."""

    def __init__(self, spec: WorkerSpec, zygote: Zygote | None = None, cgroups: Cgroups | None = None,
                 isolation: str = "none", listed: tuple[Quiet, int | None] | None = None) -> None:
        self.label = spec.label
        self.spec = spec
        self.isolation = isolation
        self.uid = worker_uid() if isolation == "root" else None
        policy = worker_policy(isolation, spec.limits, self.uid, spec.hide)
        self.dir = stage(spec, "grader-worker-")
        sub = self.dir / "sub"
        (self.dir / "tmp").mkdir()
        script = install_worker(self.dir)
        self.pidns: str | None = None  # rootless: the worker's PID namespace, how it is frozen and killed
        self._pidns_fd: int | None = None  # held open while the worker may be signalled: see namespace_of
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
        env = scrubbed_env(self.dir, lim.threads, spec.device)
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
        self._out = Drain(stdout, lim.output_bytes)
        self._err = Drain(stderr, lim.output_bytes)
        self._out.start()
        self._err.start()
        self._dead = False
        self._start = start_of(self.proc.pid)  # which process its pid names (see ``_signal``)
        self._started()
        if isolation == "rootless":
            pinned = namespace_of(self.proc.pid)
            if pinned is not None:
                self.pidns, self._pidns_fd = pinned
                self._init = init_of(self.proc.pid)
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
        """Signal the worker's session (its outer process leads it) and everything of it
        (``_every``). Its group is signalled only while its pid names it still: once the
        outer process has ended and been reaped (a zygote reaps its children at once), the
        number is handed out again, to whatever comes next, which may lead a group of its
        own: another worker of this grader or of another grader run of this user (rootless,
        the same uid), or, as root, anyone's process. pid_max can be 32768, which forking
        students wrap within seconds. (The kernel gives out no number that still names a
        group: a group that outlived its leader is signalled still.)"""
        now = start_of(self.proc.pid)
        if now is None or now == self._start:
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
        (``scrubbed_env``)."""
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
