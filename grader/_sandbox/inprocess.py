"""A runner whose workers run in this process: for code the grader can trust, never a student's.

The runner seam's fake (as httpx's ``MockTransport`` is its transport's): the same request
loop as a worker's (``_worker.in_this_process``), run in a thread of the calling process,
talked to over the same framed pipes, so every request and reply is encoded and decoded as
it is with a real worker, and checks, drivers, the plugin and the reports run as they do in
a batch. What it leaves out is what costs seconds: no interpreter started, no ``import
torch`` per worker, no namespaces, no limits, no freezing. It contains nothing: the grader's
own tests, and a course's checks run on its own code (reference, templates, known mistakes),
are what it is for.

Differences from a real worker a test must not rely on: a call that runs out of time is
abandoned, not killed (its thread ends when the call does); output goes to this process's
stdout; one request runs at a time in the whole process (the student's modules and
``sys.path`` are swapped in for each).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from types import ModuleType
from typing import Any, NoReturn

from .. import _worker
from .._exceptions import SandboxError
from .channel import FramedWorker, stage, write_by
from .runner import Worker, WorkerSpec

_ONE_AT_A_TIME = threading.RLock()  # sys.modules and sys.path are the process's: one request swaps them at a time


class InProcessWorker(FramedWorker):
    """A worker's request loop in a thread of this process, behind the framed pipes."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.label, self.spec = spec.label, spec
        self.dir = stage(spec, "grader-inprocess-")
        self.sub = self.dir / "sub"
        self._modules: dict[str, ModuleType] = {}  # the student's modules, out of sys.modules between requests
        req_r, self._req_w = os.pipe()
        self._rep_r, self._rep_w = os.pipe()
        self._dead = False
        with self._swapped():
            serve = _worker.in_this_process(req_r, self._rep_w, str(self.sub), spec.module, str(self.dir / "driver.py"),
                                            spec.device, spec.limits.threads)

        def loop() -> None:
            try:
                serve()
            except OSError:
                pass  # the trusted side stopped listening (a call past its time was abandoned)
            finally:
                for fd in (req_r, self._rep_w):
                    with contextlib.suppress(OSError):
                        os.close(fd)

        self._thread = threading.Thread(target=loop, daemon=True, name=f"grader-inprocess-{spec.label}")
        self._thread.start()
        self._started()

    @contextlib.contextmanager
    def _swapped(self) -> Any:
        """This worker's modules and folder in ``sys.modules`` and ``sys.path`` while its request runs."""
        with _ONE_AT_A_TIME:
            before = {name: sys.modules.get(name) for name in self._modules}
            owned = set(self._modules)
            sys.modules.update(self._modules)
            sys.path.insert(0, str(self.sub))
            _worker.witness_to(self._rep_w)
            known = set(sys.modules)
            try:
                yield
            finally:
                with contextlib.suppress(ValueError):
                    sys.path.remove(str(self.sub))
                mine = str(self.sub) + os.sep
                for name in set(sys.modules) - known | owned:
                    module = sys.modules.get(name)
                    where = getattr(module, "__file__", None)
                    if module is not None and isinstance(where, str) and where.startswith(mine):
                        sys.modules.pop(name)
                        if not self._dead:  # (killed during the request: what it held goes)
                            self._modules[name] = module
                for name, module in before.items():
                    if module is not None:
                        sys.modules[name] = module

    def request(self, header: dict[str, Any], values: dict[str, Any] | None, timeout: float,
                wall: float | None = None) -> dict[str, Any]:
        with self._swapped():
            return super().request(header, values, timeout, wall)

    def _send(self, data: bytes, deadline: float) -> None:
        write_by(self._req_w, data, deadline)

    def _died(self) -> NoReturn:
        self.kill()
        self._crashed(None)

    def freeze(self) -> None:
        pass  # nothing of it runs between requests

    def thaw(self) -> str | None:
        return None

    def output(self) -> str:
        return ""  # its prints went to this process's own stdout

    def kill(self) -> None:
        """Stop talking to it: the loop ends at its next read (a call still running is abandoned)."""
        if self._dead:
            return
        self._dead = True
        for fd in (self._req_w, self._rep_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._modules.clear()  # what the student's modules hold (a network's weights) goes with them
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self) -> None:
        if not self._dead:
            with contextlib.suppress(OSError, TimeoutError):
                self._send(_worker.frame({"op": "exit"}), time.monotonic() + 2)
                self._thread.join(timeout=5)
        self.kill()


class InProcessRunner:
    """Workers in threads of this process (see the module's text): the fake of the runner seam."""

    isolation = "none"
    device: str | None = None  # the caller decides, as for local workers

    def __init__(self) -> None:
        self._workers: list[InProcessWorker] = []

    def start(self, spec: WorkerSpec) -> Worker:
        if spec.device != "cpu":
            raise SandboxError(f"the in-process runner runs on the CPU only (asked for {spec.device})")
        self._workers = [w for w in self._workers if not w._dead]
        worker = InProcessWorker(spec)
        self._workers.append(worker)
        return worker

    def request(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def alone(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # one request at a time in the process already

    def release(self, submission: str) -> None:
        pass

    def gpu_count(self) -> int:
        return 0

    def fresh(self, job: int, jobs: int) -> InProcessRunner:
        raise SandboxError("the in-process runner grades one job at a time: pass jobs=1")

    def close(self) -> None:
        for worker in self._workers:
            if not worker._dead:  # (what the batch closed itself is not closed again)
                worker.close()
        self._workers.clear()
