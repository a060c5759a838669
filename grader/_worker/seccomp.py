"""The worker's seccomp filter: the system calls that reach beyond the worker, refused."""

from __future__ import annotations

import ctypes
import os
from typing import Any

from .kernel import SYSCALLS, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS


# What the seccomp filter refuses (EPERM), and why: each reaches beyond the worker, or is a
# kernel surface no homework needs. The numbers are in kernel.SYSCALLS, one table per architecture.
_REFUSED = (
    "ptrace",  # another process of the same uid (rootless): a neighbour, the zygote
    "process_vm_readv", "process_vm_writev",  # another process's memory
    "kcmp", "pidfd_getfd",  # another process's descriptors
    "keyctl", "add_key", "request_key",  # the user's keyrings
    "bpf", "userfaultfd", "perf_event_open",  # kernel surfaces
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "unshare", "setns",  # namespaces: nested user namespaces give capabilities back
    "mount", "umount2", "pivot_root", "chroot",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at",  # files by handle, past the mounts
    "kexec_load", "init_module", "finit_module", "delete_module",
    "acct", "quotactl", "swapon", "swapoff",
)
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}  # what seccomp_data.arch says of each
_CLONE_NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C  # typing into a terminal


def seccomp(libc: Any) -> str | None:
    """Install the worker's seccomp filter (a classic BPF program; no_new_privs is set
    already). It refuses with EPERM every call of ``_REFUSED``; ``clone`` with any namespace
    flag; ``ioctl`` TIOCSTI/TIOCLINUX; and answers ``clone3`` with ENOSYS (its flags sit in
    memory a filter cannot read, so C libraries fall back on ``clone``, which it can). A
    call of another architecture's ABI (i386's int 0x80, x32) kills the process: the
    numbers above would not mean the same there. Returns None, or why it is not in force."""
    import platform
    import struct as _struct

    machine = platform.machine()
    audit, nr = _AUDIT_ARCH.get(machine), SYSCALLS.get(machine, {})
    if audit is None or any(name not in nr for name in (*_REFUSED, "clone", "clone3", "ioctl")):
        return f"seccomp filter (no syscall table for {machine})"
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | 1, 0x00050000 | 38
    prog: list[tuple[int, int, int, int]] = [(ld, 0, 0, 4), (jeq, 1, 0, audit), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if machine == "x86_64":  # the x32 ABI's calls carry this bit
        prog += [(jset, 0, 1, 0x40000000), (ret, 0, 0, kill)]
    for number in sorted({nr[name] for name in _REFUSED}):
        prog += [(jeq, 0, 1, number), (ret, 0, 0, eperm)]
    prog += [(jeq, 0, 1, nr["clone3"]), (ret, 0, 0, enosys)]
    prog += [(jeq, 0, 4, nr["clone"]), (ld, 0, 0, 16), (jset, 0, 1, _CLONE_NAMESPACES), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    prog += [(jeq, 0, 5, nr["ioctl"]), (ld, 0, 0, 24), (jeq, 1, 0, _TIOCSTI), (jeq, 0, 1, _TIOCLINUX), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    prog += [(ret, 0, 0, allow)]
    raw = b"".join(_struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in prog)
    buf = ctypes.create_string_buffer(raw)

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Prog(len(prog), ctypes.addressof(buf))
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return f"seccomp filter ({os.strerror(ctypes.get_errno())})"
    return None
