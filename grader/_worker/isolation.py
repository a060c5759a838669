"""How a worker leaves the grader's namespaces before any student code runs: as root, or
rootless (a user namespace first), by one object, ``Policy``, that the trusted side builds and
the worker reads (``isolate``'s docstring says what each step keeps out).

Why one module of about 500 lines: the policy and the steps that carry it out (the
namespaces, the private root, covering in place, the probe) must agree field by field; they
are read together when either changes.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
from dataclasses import asdict, dataclass, fields
from typing import Any

from .kernel import SYSCALLS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, PR_SET_NO_NEW_PRIVS, mount
from .seccomp import seccomp

MODES = ("root", "rootless", "none")
NAMESPACES = {"pid": CLONE_NEWPID, "mount": CLONE_NEWNS, "network": CLONE_NEWNET, "ipc": CLONE_NEWIPC}
AFTER = ("no_new_privs", "capabilities", "seccomp")


@dataclass(frozen=True)
class Policy:
    """A worker's isolation, in one place (as bubblewrap's flags are): the trusted side builds
    it (``grader._sandbox.isolation.worker_policy``, from the runner's mode and the worker's
    ``Limits``) and sends it as JSON (``--policy``); the worker reads it (``from_json``,
    which refuses a malformed one before anything else is done) and isolates itself by it
    (``isolate``) before any student code runs. What a policy leaves out (a namespace, a step
    of ``after``) is not made, and is said in the worker's notes as what is missing.

    ``mode`` "root": the grader runs as root and each worker gets namespaces and a uid of its
    own. "rootless": an ordinary user's grader; each worker makes a user namespace first (as
    bubblewrap and rootless containers do), and inside it the same namespaces and root as
    under "root"; all workers share the user's uid outside, which the PID namespace, the
    dropped capabilities and the seccomp filter make harmless. "none": no namespaces (a
    container's own worker, whose container is the sandbox, or --unsandboxed): of ``after``,
    only no_new_privs and the seccomp filter.

    The root of its own (root and rootless) holds the folders of ``system`` (read-only), the
    interpreter's folders (read-only), a minimal /dev (``devices``, the nodes whose names
    start with one of ``device_prefixes``, a tmpfs /dev/shm of ``shm_mb``), a fresh /proc,
    /sys (read-only), and tmpfs ``scratch`` folders and own folder of ``disk_mb`` each.
    """

    mode: str  # "root", "rootless" or "none" (above)
    uid: int | None = None  # root only, and then required: the uid and gid the worker ends as (no other process has it)
    hide: tuple[str, ...] = ()  # folders covered where they still show (under a kept folder): course secrets, other students, output
    disk_mb: int | None = None  # MiB of each of its tmpfs scratch folders and own folder (required unless "none")
    shm_mb: int | None = None  # MiB of its tmpfs /dev/shm (required unless "none")
    nproc: int | None = None  # processes and threads at most (RLIMIT_NPROC; required unless "none")
    # Which are made after the user namespace (rootless), always in this order: a PID
    # namespace (its own /proc), a mount namespace (a root of its own), a network namespace
    # (no interface up), an IPC namespace (no SysV object of another worker).
    namespaces: tuple[str, ...] = ("pid", "mount", "network", "ipc")
    system: tuple[str, ...] = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")  # /NAME, read-only (a link stays a link)
    devices: tuple[str, ...] = ("null", "zero", "full", "random", "urandom")  # /dev/NAME bound in: no terminal of anyone's
    device_prefixes: tuple[str, ...] = ("nvidia",)  # every /dev node whose name starts so: the GPUs'
    scratch: tuple[str, ...] = ("/tmp", "/var/tmp")  # tmpfs of disk_mb each (the worker's folder is re-created in one)
    # Then, before the student's code: no_new_privs; no capabilities (the bounding set
    # emptied: nothing can give them back); the seccomp filter (``seccomp``). Rlimits come after.
    after: tuple[str, ...] = AFTER

    def __post_init__(self) -> None:
        why = self._malformed()
        if why:
            raise ValueError(f"the worker's isolation policy is malformed: {why}")

    def _malformed(self) -> str | None:
        if self.mode not in MODES:
            return f"mode {self.mode!r} is none of {', '.join(MODES)}"
        for name in ("uid", "disk_mb", "shm_mb", "nproc"):
            value = getattr(self, name)
            low = 0 if name == "uid" else 1
            if value is not None and (type(value) is not int or not low <= value < (1 << 32) - 1):
                return f"{name} {value!r} is not an integer from {low} to {(1 << 32) - 2}"
        if self.mode != "none" and None in (self.nproc, self.disk_mb, self.shm_mb):
            return f"mode {self.mode} needs nproc, disk_mb and shm_mb"
        if (self.mode == "root") != (self.uid is not None):
            return "a uid goes with mode root, and only with it"
        vocabulary = {"namespaces": tuple(NAMESPACES), "after": AFTER}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "mode" or not isinstance(f.default, tuple):
                continue
            if type(value) is not tuple or not all(type(v) is str and v and "\0" not in v for v in value):
                return f"{f.name} {value!r} is not a list of non-empty strings"
            known = vocabulary.get(f.name)
            if known is not None and not set(value) <= set(known):
                return f"{f.name} {list(value)!r} names what is none of {', '.join(known)}"
            if f.name in ("system", "devices", "device_prefixes") and any("/" in v or v in (".", "..") for v in value):
                return f"{f.name} {list(value)!r} holds a path: names in / and /dev only"
            if f.name == "scratch" and any(not os.path.isabs(v) or os.path.normpath(v) != v for v in value):
                return f"scratch {list(value)!r} holds a path that is not absolute and plain"
        return None

    def to_json(self) -> str:
        """The policy as one line of JSON (ASCII), every field written."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Policy:
        """The policy ``to_json`` wrote; ValueError (saying what is wrong) for anything else."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"the worker's isolation policy is malformed: not JSON ({exc})") from None
        if type(data) is not dict:
            raise ValueError(f"the worker's isolation policy is malformed: a {type(data).__name__}, not an object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown or "mode" not in data:
            why = f"unknown field(s) {', '.join(unknown)}" if unknown else "no mode"
            raise ValueError(f"the worker's isolation policy is malformed: {why}")
        values: dict[str, Any] = {k: tuple(v) if type(v) is list else v for k, v in data.items()}
        return cls(**values)


def isolate(policy: Policy, home: str, keep: list[str]) -> list[str]:
    """Before anything of the student's runs: leave the grader's namespaces, and for good, as
    ``policy`` says (its mode root or rootless). Returns what could not be done (empty when
    fully isolated). As root the worker ends as ``policy.uid``; rootless, as the user's own
    uid, and the user namespace the worker has entered (``user_namespace``) is what gives it
    the right to do the rest.

    - a mount namespace of its own with a root of its own (an allow-list, not a deny-list):
      only the system's read-only folders (``policy.system``: /usr, /etc, /lib...), a minimal
      /dev (``policy.devices``: null, zero, full, random, urandom; the GPUs' nodes: no
      terminal of anyone's), a /proc of its own,
      /sys read-only, the interpreter's folders (``keep``, read-only) and the worker's own
      folder ``home`` exist there. Any other copy of a reference on the machine (another
      checkout, an instructor's home, the submissions and output folders) is simply absent.
      /tmp, /var/tmp (``policy.scratch``) and /dev/shm are small tmpfs of its own, ``home``
      is re-created inside its /tmp (the disk, and the user's quota, cannot be filled), and
      every path of ``policy.hide`` that still shows (under a kept folder) is covered;
    - a PID namespace of its own, with a /proc that shows only it: the grader's processes
      (their command lines, environments, folders) and other workers' do not exist there,
      and no pid outside can be named (``kill(-1)`` reaches only its own). The worker is
      PID 2 under a bare PID 1 (see ``_stay_init``); when PID 1 ends, the kernel kills
      everything left in the namespace, whatever left its session;
    - a network namespace of its own, with no interface up: no network at all (nor the
      abstract Unix sockets of the machine);
    - an IPC namespace of its own: no SysV shared memory, semaphore or message queue of
      another worker is reachable, and none outlives the worker;
    - no capabilities (the bounding set emptied: nothing can give them back), no_new_privs,
      no supplementary groups, as root the uid/gid ``uid`` (no other process has it), and a
      seccomp filter (``seccomp``) on the calls that reach beyond the worker.

    Where a root of its own cannot be made, it falls back on covering ``policy.hide`` in place.
    """
    if policy.mode not in ("root", "rootless"):
        raise ValueError(f"isolate() is for modes root and rootless, not {policy.mode}")
    rootless = policy.mode == "rootless"
    uid = os.getuid() if rootless else policy.uid
    assert uid is not None  # (a root policy has one: Policy refuses it without)
    libc = ctypes.CDLL(None, use_errno=True)
    missing: list[str] = []
    # from here on this is PID 1 of a new namespace (or the same process)
    pid_ns = "pid" in policy.namespaces and _pid_namespace(libc)
    if not pid_ns:
        missing.append(f"PID namespace ({_why_not(policy, 'pid')}): the grader's processes are visible")
    if _unshare(libc, policy, "mount"):
        mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
        try:
            _private_root(libc, policy, uid, home, keep, fresh_proc=pid_ns, missing=missing)
        except OSError as exc:
            missing.append(f"root of its own ({exc}): only the course's own folders are hidden")
            _cover_in_place(libc, policy, uid, home, keep, missing)
    else:
        missing.append(f"mount namespace ({_why_not(policy, 'mount')}): course files not hidden, disk not capped")
    if not _unshare(libc, policy, "network"):
        missing.append(f"network namespace ({_why_not(policy, 'network')}): network not cut")
    if not _unshare(libc, policy, "ipc"):  # SysV shared memory, semaphores and queues of its own: gone with it
        missing.append(f"IPC namespace ({_why_not(policy, 'ipc')}): SysV IPC objects are shared")
    if "capabilities" in policy.after:
        _drop_bounding_set(libc)
    missing += _no_new_privs(libc, policy)
    if not rootless:  # (a user namespace whose setgroups is denied has no groups to drop)
        os.setgroups([])
    os.setresgid(os.getgid() if rootless else uid, os.getgid() if rootless else uid, os.getgid() if rootless else uid)
    os.setresuid(uid, uid, uid)
    gap = _drop_capabilities(libc) if "capabilities" in policy.after else "capabilities not dropped (not in the policy)"
    if gap:
        missing.append(gap)
    missing += _seccomp(libc, policy)
    if pid_ns:
        # Sessions of their own, seen from inside: PID 1's group has no other member (a
        # killpg of the parent's group reaches nothing), and the worker's is its own.
        # (The grader freezes and kills by uid or by PID namespace, which reach both.)
        os.setsid()
        _stay_init()  # PID 1 stays a bare reaper; the worker goes on as PID 2
        os.setsid()
    return missing


def filter_only(policy: Policy) -> list[str]:
    """Mode "none" (a container's own worker, or --unsandboxed): no namespaces; no_new_privs
    and the seccomp filter where ``policy.after`` has them. Returns what could not be done."""
    libc = ctypes.CDLL(None, use_errno=True)
    return _no_new_privs(libc, policy) + _seccomp(libc, policy)


def _no_new_privs(libc: Any, policy: Policy) -> list[str]:
    if "no_new_privs" not in policy.after:
        return ["no_new_privs (not in the policy): a setuid program it runs gains its privileges"]
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return []


def _seccomp(libc: Any, policy: Policy) -> list[str]:
    gap = seccomp(libc) if "seccomp" in policy.after else "seccomp filter (not in the policy)"
    return [gap] if gap else []


def _unshare(libc: Any, policy: Policy, name: str) -> bool:
    """Make the namespace ``name`` where ``policy`` has it: True if it was made."""
    return name in policy.namespaces and libc.unshare(NAMESPACES[name]) == 0


def _why_not(policy: Policy, name: str) -> str:
    """Why the namespace ``name`` was not made (right after the call that failed, if any)."""
    return os.strerror(ctypes.get_errno()) if name in policy.namespaces else "not in the policy"


def user_namespace(libc: Any | None = None) -> str | None:
    """Rootless: enter a user namespace of its own, where this user's uid and gid (and no
    other) are mapped to themselves. The process gets every capability there, and only
    there: what it needs to make the other namespaces and mounts, all dropped before any
    student code runs (``isolate``). Must be called while the process has one thread.
    Returns None, or why it could not be done."""
    libc = libc or ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER) != 0:
        return f"user namespace ({os.strerror(ctypes.get_errno())})"
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    except OSError as exc:
        return f"user namespace ids ({exc.strerror})"
    return None


def probe() -> int:
    """``_grader_worker --probe``: can this user make what a rootless worker makes? Exit 0 if so;
    else 1, with the reason on stdout. (A process of its own: the grader's stays as it is.)"""
    libc = ctypes.CDLL(None, use_errno=True)
    why = user_namespace(libc)
    if why is None and libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC) != 0:  # every one a policy may name
        why = f"namespaces in a user namespace ({os.strerror(ctypes.get_errno())})"
    if why is None:
        child = os.fork()
        if child == 0:  # PID 1 of the new namespace: mount what a worker mounts
            try:
                import tempfile

                mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
                place = tempfile.mkdtemp(prefix="grader-probe-")
                mount(libc, "tmpfs", place, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
                os.mkdir(place + "/proc")
                mount(libc, "proc", place + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
                os._exit(0)
            except OSError as exc:
                os.write(1, str(exc).encode())
                os._exit(1)
        _, status = os.waitpid(child, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            why = "mounts in a user namespace refused"
    if why:
        print(why, flush=True)
        return 1
    return 0


_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4


def _drop_bounding_set(libc: Any) -> None:
    """Empty the capability bounding set (while the process may: it needs CAP_SETPCAP): no
    program it runs, setuid or with file capabilities, can ever give one back."""
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last
            break
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def _drop_capabilities(libc: Any) -> str | None:
    """No capability left, in any namespace: rootless, the worker had every one in its user
    namespace (it could have unmounted what covers a folder, or remounted the interpreter's
    folders writable); as root, setresuid() has cleared them already."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: none (two 32-bit words each)
    if libc.capset(header, data) != 0:
        return f"capabilities not dropped ({os.strerror(ctypes.get_errno())})"
    return None


def _pid_namespace(libc: Any) -> bool:
    """Enter a new PID namespace: this process forks; the child, PID 1 there, returns True.
    The parent stays outside (the grader's handle on the worker: its pid, its session),
    waits, and ends as the child did: a signal death (exit status 128 + signal from PID 1)
    as that signal, so the grader reads it as from any worker. False: no namespace."""
    if libc.unshare(CLONE_NEWPID) != 0:
        return False
    child = os.fork()
    if child == 0:
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: if the outer process is killed, so is PID 1
        return True
    os.closerange(3, 1 << 16)  # keep nothing of the worker's channels: their end is the worker's end
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    sig = -code if code < 0 else (code - 128 if code > 128 else 0)
    if sig:
        if sig not in (signal.SIGKILL, signal.SIGSTOP):  # those two have no handler to reset
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(code if code >= 0 else 128 - code)


def _under(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def _scratch(libc: Any, path: str, mb: int) -> None:
    mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={mb}m,mode=1777")


def _copy_home(src_fd: int, home: str, uid: int, skip: str | None = None) -> None:
    """Re-create the worker's folder at ``home`` from the open folder ``src_fd``, owned by ``uid``."""

    src = f"/proc/self/fd/{src_fd}"
    os.makedirs(home, exist_ok=True)
    shutil.copytree(src, home, dirs_exist_ok=True, ignore=lambda d, names: [skip] if skip and d == src and skip in names else [])
    for root, dirs, files in os.walk(home):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, uid, uid)
    os.chmod(home, 0o700)


def _locked_flags(path: str) -> int:
    """The flags of the mount holding ``path`` that a bind of it must keep: in a user namespace
    the kernel refuses a remount that would clear nosuid, nodev, noexec or rdonly of a mount
    made outside it (bubblewrap keeps them the same way)."""
    try:
        flags = os.statvfs(path).f_flag
    except OSError:
        return 0
    return flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)  # ST_* and MS_* agree on these bits


def _mounts_below(path: str) -> list[str]:
    """The mount points strictly below ``path`` (from /proc/self/mountinfo, its octal escapes read)."""
    prefix = path.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f if len(line.split()) > 4]
    decoded = [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), p) for p in points]
    return sorted({p for p in decoded if p.startswith(prefix)}, key=len)


def _minimal_dev(libc: Any, new: str, policy: Policy) -> None:
    """A /dev of its own: a tmpfs with the few device nodes a program needs (``policy.devices``,
    bound from the host's), the GPUs' nodes (``policy.device_prefixes``), /dev/shm (a small
    tmpfs, ``policy.shm_mb``) and the usual links. No terminal, no
    disk, nothing of the user's session: a worker that shares the user's uid cannot open the
    instructor's terminal."""
    dev = new + "/dev"
    os.makedirs(dev, exist_ok=True)
    mount(libc, "tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755")
    names = [n for n in policy.devices if os.path.exists("/dev/" + n)]
    try:
        names += sorted(n for n in os.listdir("/dev") if n.startswith(policy.device_prefixes))
    except OSError:
        pass
    for name in names:
        src, target = "/dev/" + name, dev + "/" + name
        if os.path.isdir(src):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "w").close()
        mount(libc, src, target, None, MS_BIND | MS_REC)
    for link, to in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                     ("stderr", "/proc/self/fd/2")):
        os.symlink(to, dev + "/" + link)
    os.makedirs(dev + "/shm")
    _scratch(libc, dev + "/shm", _mb(policy.shm_mb))
    mount(libc, "none", dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)


def _mb(size: int | None) -> int:
    assert size is not None  # (an isolating policy has every size: Policy refuses it without)
    return size


def _private_root(libc: Any, policy: Policy, uid: int, home: str, keep: list[str], fresh_proc: bool = False,
                  missing: list[str] | None = None) -> None:
    import platform
    import tempfile

    number = SYSCALLS.get(platform.machine(), {}).get("pivot_root")
    if number is None:
        raise OSError(0, f"pivot_root unknown on {platform.machine()}")
    saved = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    new = tempfile.mkdtemp(prefix="root-", dir=home)  # an empty folder on the host, removed with ``home``
    mount(libc, "tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    try:
        def bind(path: str, read_only: bool = True, at: str | None = None) -> None:
            """Bind ``path`` into the new root with the mounts below it; read-only, each of
            them (a remount changes one mount only: a submount left out would stay writable,
            /sys/fs/cgroup for one, through which a rootless worker could leave its cgroup)."""
            target = new + (at or path)
            os.makedirs(target, exist_ok=True)
            mount(libc, path, target, None, MS_BIND | MS_REC)
            if read_only:
                for point in [target, *_mounts_below(target)]:
                    mount(libc, "none", point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | _locked_flags(point))

        for name in policy.system:
            path = "/" + name
            if os.path.islink(path):
                os.symlink(os.readlink(path), new + path)
            elif os.path.isdir(path):
                bind(path)
        _minimal_dev(libc, new, policy)
        os.makedirs(new + "/proc")
        try:
            if not fresh_proc:
                raise OSError(0, "no PID namespace")
            # The PID namespace's own /proc: only the worker's processes.
            mount(libc, "proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as exc:
            if policy.mode == "rootless":  # the host's /proc would show the grader's environment to its own uid: none at all
                if missing is not None:
                    missing.append(f"a /proc of its own ({exc.strerror}): the worker has no /proc")
            else:  # as root the worker is another uid: the grader's /proc entries are not its to read
                bind("/proc", read_only=False)
        bind("/sys")  # with what is mounted on it (a user namespace cannot bind less), each read-only
        for d in policy.scratch:
            os.makedirs(new + d)
            _scratch(libc, new + d, _mb(policy.disk_mb))
        shown = ["/" + n for n in policy.system]
        for path in sorted({os.path.abspath(k) for k in keep if k and os.path.isdir(k)}, key=len):
            if not any(_under(path, s) for s in shown) and not _under(path, home) and not _under(home, path):
                real = os.path.realpath(path)
                bind(real)
                if real != path:  # the interpreter knows it by this name too
                    bind(real, at=path)
                shown.append(path)
        if not any(_under(home, d) for d in policy.scratch):  # the root is read-only: home gets a tmpfs too
            os.makedirs(new + home)
            _scratch(libc, new + home, _mb(policy.disk_mb))
        _copy_home(saved, new + home, uid, skip=os.path.basename(new))
        for path in policy.hide:  # what a kept folder may still hold (course files under /usr, say)
            target = new + os.path.realpath(path)
            if os.path.isdir(target) and not any(_under(k, path) for k in [*keep, home]):
                mount(libc, "tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=000")
        os.chdir(new)
        if libc.syscall(number, b".", b".") != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"pivot_root: {os.strerror(err)}")
    except BaseException:
        os.chdir("/")
        libc.umount2(new.encode(), MNT_DETACH)
        os.close(saved)
        raise
    os.close(saved)
    libc.umount2(b".", MNT_DETACH)  # the old root: gone from this namespace, with every path to it
    os.chdir("/")
    mount(libc, "none", "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _cover_in_place(libc: Any, policy: Policy, uid: int, home: str, keep: list[str], missing: list[str]) -> None:
    """The fallback: cover each folder of ``policy.hide`` with an empty read-only tmpfs, give
    the worker its own scratch folders (/tmp, /var/tmp), /run/lock and /dev/shm, and re-create
    ``home`` inside its /tmp."""
    for path in policy.hide:  # never one that holds the interpreter or the worker's own folder
        if os.path.isdir(path) and not any(_under(k, path) for k in [*keep, home]):
            mount(libc, "tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=000")
    saved = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    covered = [d for d in (*policy.scratch, "/run/lock") if os.path.isdir(d) and not any(_under(k, d) for k in keep)]
    for d in covered:
        _scratch(libc, d, _mb(policy.disk_mb))
    if not any(_under(home, d) for d in covered):
        _scratch(libc, home, _mb(policy.disk_mb))  # the interpreter lives under /tmp: cap the worker's own folder at least
        missing.append("private /tmp (the interpreter lives under /tmp): /tmp is shared")
    _copy_home(saved, home, uid)
    os.close(saved)
    if os.path.isdir("/dev/shm"):
        _scratch(libc, "/dev/shm", _mb(policy.shm_mb))


def _stay_init() -> None:
    """In a PID namespace of its own the worker would be PID 1, which the kernel shields from
    every signal it has no handler for, even its own: a student's ``os.kill(os.getpid(),
    SIGSEGV)`` would do nothing, unlike anywhere else. So PID 1 forks: the child is the worker,
    an ordinary process; PID 1 stays a bare reaper with no handlers at all, which no signal
    from inside the namespace can reach (an init like tini forwards what it is sent: a
    student could SIGTERM it and, through it, the worker). It exits as the worker did
    (128 + signal for a signal), taking the namespace and whatever is left in it down.
    (A container's PID 1 is the box, for the same reasons: see ``box``.)
    """
    child = os.fork()
    if child == 0:
        return
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python's own handler would let a SIGINT in
    for fd in (0, 1):
        os.close(fd)  # the worker's channels are the child's alone
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)
