"""The Linux constants and the one mount call the isolation and the seccomp filter share."""

from __future__ import annotations

import ctypes
import os
from typing import Any


CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x40000000, 0x20000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME = 0x10000000, 0x04000000, 0x02000000, 0x00000080
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 1 << 14, 1 << 18
PR_SET_NO_NEW_PRIVS = 38


MS_BIND, MS_REMOUNT, MNT_DETACH = 4096, 32, 2


def mount(libc: Any, src: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if libc.mount(src.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


# The system call numbers the worker uses (the seccomp filter's refusals, pivot_root), one
# table per architecture; an architecture whose table lacks a call the filter names gets no
# filter (said in the worker's notes), one without pivot_root no private root.
SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "pidfd_getfd": 438,
        "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "userfaultfd": 323,
        "perf_event_open": 298, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "open_by_handle_at": 304, "name_to_handle_at": 303, "kexec_load": 246,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "acct": 163, "quotactl": 179,
        "swapon": 167, "swapoff": 168, "clone": 56, "clone3": 435, "ioctl": 16,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272, "pidfd_getfd": 438,
        "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280, "userfaultfd": 282,
        "perf_event_open": 241, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "open_by_handle_at": 265, "name_to_handle_at": 264, "kexec_load": 104,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "acct": 89, "quotactl": 60,
        "swapon": 224, "swapoff": 225, "clone": 220, "clone3": 435, "ioctl": 29,
    },
    "ppc64le": {"pivot_root": 203},
}
