"""The Linux constants and the one mount call the isolation and the seccomp filter share."""

from __future__ import annotations

import ctypes
import os
from typing import Any


_CLONE_NEWNS, _CLONE_NEWNET, _CLONE_NEWPID, _CLONE_NEWIPC = 0x00020000, 0x40000000, 0x20000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWUTS, _CLONE_NEWCGROUP, _CLONE_NEWTIME = 0x10000000, 0x04000000, 0x02000000, 0x00000080
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 1, 2, 4, 8, 1 << 14, 1 << 18
_PR_SET_NO_NEW_PRIVS = 38


_MS_BIND, _MS_REMOUNT, _MNT_DETACH = 4096, 32, 2


def _mount(libc: Any, src: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if libc.mount(src.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")
