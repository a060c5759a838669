"""How a local worker is isolated: the probe of what this machine allows, the mode it gives
("root", "rootless" or "none", refused unless --unsandboxed), a worker's own uid, the one
place its policy is built, and where its processes are found (PID namespace, start time).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

from .. import _worker
from .._exceptions import SandboxError
from .._course.limits import Limits

_WORKER_MAIN = Path(_worker.__file__).parent / "__main__.py"  # the probe is the worker's own code


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


def namespace_of(pid: int) -> tuple[str, int] | None:
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


def start_of(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot): with the pid, which process it is."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def init_of(outer: int) -> tuple[int, int] | None:
    """The PID 1 of the namespace a rootless worker's outer process made: its only child, by
    pid and start time (read here; a freeze counts it the worker's even if its namespace
    link is hidden)."""
    try:
        with open(f"/proc/{outer}/task/{outer}/children") as f:
            children = [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return None
    start = start_of(children[0]) if len(children) == 1 else None
    return None if start is None else (children[0], start)

