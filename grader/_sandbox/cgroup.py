"""A cgroup (v2) per worker: freeze and kill every process and thread of a worker, whatever
its state, wherever it went (another session, another PID namespace, a thread whose
leader looks finished).

Signals reach processes one by one, found by reading ``/proc``: a process can start
another between the reading and the signal, and a thread group whose leader has exited
shows as a zombie while its other threads still run. The cgroup freezer stops the whole
group in the kernel, and ``cgroup.kill`` kills it the same way. A worker joins its
cgroup itself, as the first thing it does (the worker's ``--cgroup``), so everything it
starts is in it; only a process that may write to another cgroup's ``cgroup.procs`` could
leave, and the worker's uid may write to none.

Used where the grader may make cgroups and move workers into them: as root, or in a
folder delegated to its user (systemd's ``Delegate=yes``: the grader started by
``systemd-run --user --scope -p Delegate=yes``). Elsewhere ``Cgroups.find()`` is None, and
workers are killed by signals and frozen by signals until ``_freeze`` shows every process
stopped.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

log = logging.getLogger(__name__)

FREEZE_TIMEOUT = 10.0  # seconds for the kernel to stop everything (a task in uninterruptible sleep waits)


def _own_memory_dir() -> Path | None:
    """This process's folder in a cgroup v1 memory hierarchy, if one is mounted (hybrid systems)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    own = next((line.split(":", 2)[2] for line in lines if line.split(":")[1:2] == ["memory"]), None)
    if own is None:
        return None
    for m in mounts:
        left, _, right = m.partition(" - ")
        fs = right.split(" ")
        if fs[0] != "cgroup" or "memory" not in fs[-1].split(","):
            continue
        root, point = left.split()[3], left.split()[4]
        rel = os.path.relpath(own, root)
        if rel.startswith(".."):
            continue
        path = Path(point) / rel if rel != "." else Path(point)
        if (path / "memory.limit_in_bytes").exists():
            return path
    return None


def _own_cgroup_dir() -> Path | None:
    """The folder of this process's cgroup on a mounted cgroup2 file system, if any."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    own = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), None)
    if own is None:
        return None
    for m in mounts:
        left, _, right = m.partition(" - ")
        if right.split(" ", 1)[0] != "cgroup2":
            continue
        fields = left.split()
        root, point = fields[3], fields[4]
        rel = os.path.relpath(own, root) if own.startswith(root) else None
        if rel is None or rel.startswith(".."):
            continue
        path = Path(point) / rel if rel != "." else Path(point)
        if (path / "cgroup.procs").exists():
            return path
    return None


class Cgroup:
    """One worker's cgroup (v2), and where memory is counted: its own ``memory.max`` when the
    v2 memory controller is there, else a folder of its own in the v1 memory hierarchy."""

    def __init__(self, path: Path, memory: Path | None = None) -> None:
        self.path = path
        self.memory = memory  # a v1 memory cgroup folder, or None

    @property
    def folders(self) -> list[Path]:
        """What the worker joins (each folder's cgroup.procs)."""
        return [self.path, *([self.memory] if self.memory is not None else [])]

    def limit_memory(self, mb: int) -> bool:
        """Count all the worker's memory against ``mb`` MiB: anonymous, shared mappings, SysV
        and POSIX shared memory, its tmpfs pages; no swap to escape to. True when in force."""
        limit = str(mb << 20)
        if (self.path / "memory.max").exists():
            ok = self._write("memory.max", limit)
            self._write("memory.swap.max", "0")
            return ok
        if self.memory is not None:
            try:
                (self.memory / "memory.limit_in_bytes").write_text(limit)
                if (self.memory / "memory.memsw.limit_in_bytes").exists():
                    (self.memory / "memory.memsw.limit_in_bytes").write_text(limit)
                return True
            except OSError as exc:
                log.warning("cannot limit memory of %s: %s", self.memory, exc)
        return False

    def limit_pids(self, n: int) -> bool:
        """At most ``n`` processes and threads in it, counted by the kernel (cgroup v2's pids
        controller, where it is enabled): a fork bomb stops there whatever uid it runs as,
        without touching the user's own process limit. True when in force."""
        return (self.path / "pids.max").exists() and self._write("pids.max", str(n))

    def _write(self, name: str, value: str) -> bool:
        try:
            (self.path / name).write_text(value)
            return True
        except OSError:
            return False

    def _events(self) -> dict[str, str]:
        try:
            return dict(line.split(" ", 1) for line in (self.path / "cgroup.events").read_text().splitlines() if " " in line)
        except OSError:
            return {}

    def freeze(self, timeout: float = FREEZE_TIMEOUT) -> bool:
        """Stop every task in the cgroup; True once the kernel says all are stopped. False
        (and the cgroup thawed again: the caller thaws only what it was told is frozen) when
        it is empty or did not freeze in time. Left frozen, an empty job's folder stopped
        every worker that job started later, for good (found by attack: a classmate's import
        that failed just as another job's timing check began)."""
        if not self._write("cgroup.freeze", "1"):
            return False
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            events = self._events()
            if events.get("populated") == "0":  # nothing joined it: the caller falls back on signals
                self.thaw()
                return False
            if events.get("frozen") == "1":
                return True
            if time.monotonic() > deadline:
                log.warning("cgroup %s did not freeze within %.0f s", self.path.name, timeout)
                self.thaw()
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def thaw(self) -> None:
        self._write("cgroup.freeze", "0")

    def cpu_seconds(self) -> float | None:
        """CPU time used by everything that ever ran in the cgroup (``cpu.stat``'s usage_usec)."""
        try:
            for line in (self.path / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
        except (OSError, ValueError):
            return None
        return None

    def kill(self) -> None:
        """SIGKILL everything in the cgroup (``cgroup.kill``; on kernels before 5.14, each
        listed process while the cgroup is frozen, so none can fork meanwhile)."""
        if self._write("cgroup.kill", "1"):
            return
        frozen = self._write("cgroup.freeze", "1")
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            time.sleep(0.01)
        if frozen:
            self._write("cgroup.freeze", "0")

    def empty(self) -> bool:
        return self._events().get("populated", "0") == "0"

    def remove(self, wait: float = 5.0) -> None:
        """Kill what is left and remove the folder (it must be empty first)."""
        if not self.path.exists():
            return
        deadline = time.monotonic() + wait
        self.kill()
        while not self.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            self.path.rmdir()
        except OSError as exc:
            log.warning("cannot remove cgroup %s: %s", self.path, exc)
        if self.memory is not None and self.memory.exists():
            for _ in range(100):  # its tasks are gone with the v2 cgroup's; v1 lets go a little later
                try:
                    self.memory.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


class Cgroups:
    """This grader's folder of worker cgroups: ``grader-<pid>-<random>`` under its own cgroup."""

    def __init__(self, root: Path, memory: Path | None = None) -> None:
        self.root = root
        self.memory = memory  # the same folder in the v1 memory hierarchy, where there is one

    @classmethod
    def find(cls, parent: Cgroups | None = None, name: str | None = None) -> Cgroups | None:
        """A folder of this grader's own, where one can be made (as root, or delegated); None
        otherwise. With ``parent``: a folder ``name`` inside it (a job of a parallel batch,
        whose siblings a timing check freezes while it runs)."""
        if os.environ.get("GRADER_NO_CGROUP"):
            return None
        if parent is not None:
            root = parent.root / (name or f"job-{os.getpid()}")
            memory = parent.memory / root.name if parent.memory is not None else None
        else:
            own = _own_cgroup_dir()
            if own is None or not _may_move_into(own):
                return None
            _sweep(own)
            root = own / f"grader-{os.getpid()}-{secrets.token_hex(4)}"
            mem_parent = _own_memory_dir()
            if mem_parent is not None:
                _sweep(mem_parent)
            memory = mem_parent / root.name if mem_parent is not None else None
        try:
            root.mkdir()
        except OSError:
            return None
        if not (root / "cgroup.freeze").exists():
            Cgroup(root).remove()
            return None
        controllers = _read(root / "cgroup.controllers").split()
        if "pids" in controllers:
            _write(root / "cgroup.subtree_control", "+pids")  # workers' pids.max (v2)
        if "memory" in controllers:
            _write(root / "cgroup.subtree_control", "+memory")  # workers' memory.max (v2)
            memory = None
        elif memory is not None:
            try:
                memory.mkdir()
            except OSError:
                memory = None
        return cls(root, memory)

    def siblings(self) -> list[Cgroup]:
        """The other jobs' folders of the same batch (empty for a batch of one job)."""
        parent = self.root.parent
        if not parent.name.startswith("grader-"):
            return []
        try:
            return [Cgroup(p) for p in parent.iterdir() if p.is_dir() and p != self.root]
        except OSError:
            return []

    def make(self, name: str) -> Cgroup | None:
        path = self.root / name
        try:
            path.mkdir()
        except OSError as exc:
            log.warning("cannot make cgroup %s: %s", path, exc)
            return None
        memory = None
        if self.memory is not None:
            try:
                (self.memory / name).mkdir()
                memory = self.memory / name
            except OSError as exc:
                log.warning("cannot make memory cgroup %s: %s", self.memory / name, exc)
        return Cgroup(path, memory)

    def close(self) -> None:
        if not self.root.exists():
            return
        for child in self.root.iterdir():
            if child.is_dir():
                _remove_tree(child)
        if self.memory is not None and self.memory.exists():
            for child in self.memory.iterdir():
                if child.is_dir():
                    _remove_tree(child)
        Cgroup(self.root, self.memory).remove()


def _may_move_into(own: Path) -> bool:
    """Can a worker move itself from this grader's cgroup ``own`` into one made below it?
    The kernel asks for write access to ``cgroup.procs`` of the two cgroups' common
    ancestor, ``own``: root has it; an ordinary user only where the cgroup was delegated to
    them (systemd's ``Delegate=yes`` hands over the folder and that file). A folder that may
    be written but whose ``cgroup.procs`` may not would give workers cgroups they cannot
    join: no cgroup then, and the freeze is by signals."""
    return os.geteuid() == 0 or os.access(own / "cgroup.procs", os.W_OK)


def delegation_hint() -> str:
    """How this user could grade from a cgroup delegated to them, in a phrase for messages:
    with systemd-run where a systemd user manager runs for them, else from an administrator."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    if Path(runtime, "systemd", "private").exists():
        return "from a cgroup delegated to you (`systemd-run --user --scope -p Delegate=yes grader grade ...`)"
    return ("from a cgroup delegated to you (this machine runs no systemd user manager for you, where "
            "`systemd-run --user --scope -p Delegate=yes` would make one: ask its administrator)")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


def _sweep(parent: Path) -> None:
    """Remove what graders that were killed outright left: ``grader-<pid>-*`` of dead pids."""
    try:
        entries = list(parent.glob("grader-*-*"))
    except OSError:
        return
    for entry in entries:
        try:
            pid = int(entry.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            continue
        try:
            if os.geteuid() != 0 and entry.stat().st_uid != os.geteuid():
                continue  # another user's grader left it (root's, say): not this one's to remove
        except OSError:
            continue
        _remove_tree(entry)


def _remove_tree(path: Path) -> None:
    """Kill and remove a cgroup folder and every folder below it, deepest first."""
    try:
        children = [c for c in path.iterdir() if c.is_dir()]
    except OSError:
        children = []
    for child in children:
        _remove_tree(child)
    Cgroup(path).remove(wait=1.0)
