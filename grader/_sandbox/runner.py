"""The runner seam: what the grading side asks of a sandbox, and nothing of how one works.

A ``Runner`` starts ``Worker``s from ``WorkerSpec``s; every worker runs the ``_worker``
package, student code beside it, on the far side of the boundary. The runners themselves
are elsewhere in ``grader._sandbox``: ``local`` (processes on this machine), ``docker``
(containers), ``inprocess`` (the unit tests' fake). Here too: the isolations a runner may
report (``ISOLATIONS``) and how a parallel batch's jobs share the GPUs (``job_gpu``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .._course.limits import Limits as Limits  # re-exported: where every default of a worker's limits is



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


WALL_BACKSTOP = 3.0  # a call may take this many times its limit in wall time while its CPU time stays under it


def wall_backstop(limit: float) -> float:
    """The wall time a call (or a test's calls together) of CPU-time limit ``limit`` may take:
    ``WALL_BACKSTOP`` times it, at least the limit and 30 s."""
    return max(WALL_BACKSTOP * limit, limit + 30.0)


class Worker(Protocol):
    label: str
    last_wall: float  # seconds the last request took, measured on this side

    def request(self, header: dict[str, Any], values: dict[str, Any] | None, timeout: float,
                wall: float | None = None) -> dict[str, Any]:
        """One call: ``timeout`` its limit (CPU time where it can be read), ``wall`` the most
        wall time it may take (None: a backstop of a few times ``timeout``)."""

    @property
    def dead(self) -> bool:
        """Killed or closed (a timeout, a crash, an interrupted request): a fresh one is needed."""

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


ISOLATIONS = {
    "root": "root namespaces (mount, PID, network, IPC; a uid of its own per worker; no capabilities; seccomp)",
    "rootless": "rootless namespaces (a user namespace, and in it mount, PID, network, IPC; no capabilities; seccomp)",
    "container": "containers (Docker: no network, read-only root, no capabilities, Docker's seccomp and the worker's own)",
    "none": "NONE: workers run as you, with your files in reach (--unsandboxed)",
}



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
