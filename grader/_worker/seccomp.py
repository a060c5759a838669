"""The worker's seccomp filter: the system calls that reach beyond the worker, refused."""

from __future__ import annotations

import ctypes
import os
from typing import Any

from .kernel import _CLONE_NEWCGROUP, _CLONE_NEWIPC, _CLONE_NEWNET, _CLONE_NEWNS, _CLONE_NEWPID, _CLONE_NEWTIME, _CLONE_NEWUSER, _CLONE_NEWUTS


# What the seccomp filter refuses (EPERM), and why: each reaches beyond the worker, or is a
# kernel surface no homework needs. Numbers per architecture (x86_64, aarch64).
_REFUSED = {
    "ptrace": (101, 117),  # another process of the same uid (rootless): a neighbour, the zygote
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),  # another process's memory
    "kcmp": (312, 272), "pidfd_getfd": (438, 438),  # another process's descriptors
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),  # the user's keyrings
    "bpf": (321, 280), "userfaultfd": (323, 282), "perf_event_open": (298, 241),  # kernel surfaces
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "unshare": (272, 97), "setns": (308, 268),  # namespaces: nested user namespaces give capabilities back
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264),  # files by handle, past the mounts
    "kexec_load": (246, 104), "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "acct": (163, 89), "quotactl": (179, 60), "swapon": (167, 224), "swapoff": (168, 225),
}
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 0), "aarch64": (0xC00000B7, 1)}
_CLONE = (56, 220)
_CLONE3 = (435, 435)
_IOCTL = (16, 29)
_CLONE_NAMESPACES = _CLONE_NEWNS | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWUSER | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWCGROUP | _CLONE_NEWTIME
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

    arch = _SECCOMP_ARCH.get(platform.machine())
    if arch is None:
        return f"seccomp filter (no syscall table for {platform.machine()})"
    audit, col = arch
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | 1, 0x00050000 | 38
    prog: list[tuple[int, int, int, int]] = [(ld, 0, 0, 4), (jeq, 1, 0, audit), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if col == 0:  # x86_64: the x32 ABI's calls carry this bit
        prog += [(jset, 0, 1, 0x40000000), (ret, 0, 0, kill)]
    for numbers in sorted({n[col] for n in _REFUSED.values()}):
        prog += [(jeq, 0, 1, numbers), (ret, 0, 0, eperm)]
    prog += [(jeq, 0, 1, _CLONE3[col]), (ret, 0, 0, enosys)]
    prog += [(jeq, 0, 4, _CLONE[col]), (ld, 0, 0, 16), (jset, 0, 1, _CLONE_NAMESPACES), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    prog += [(jeq, 0, 5, _IOCTL[col]), (ld, 0, 0, 24), (jeq, 1, 0, _TIOCSTI), (jeq, 0, 1, _TIOCLINUX), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    prog += [(ret, 0, 0, allow)]
    raw = b"".join(_struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in prog)
    buf = ctypes.create_string_buffer(raw)

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Prog(len(prog), ctypes.addressof(buf))
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return f"seccomp filter ({os.strerror(ctypes.get_errno())})"
    return None
