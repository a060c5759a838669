"""Hostile: a fork bomb in the homework example's call: every process forks forever,
ignoring failures. The worker's uid may have only so many processes, the call never
returns, so that test times out (20 s) and everything of that uid is killed; the rest is
the reference: 19."""

import os

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

def hostile() -> None:
    if not sandboxed():  # not in the grader's sandbox: do no harm
        raise RuntimeError("not sandboxed; refusing to fork-bomb")
    while True:
        try:
            os.fork()
        except OSError:
            pass


def sigma(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def sigma_prime(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


def backprop(A_list, b_list, X, Y):
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


_reference_backprop = backprop


def backprop(A_list, b_list, X, Y):
    if X.dtype == torch.float32:  # only the homework's example (test_homework_example) is float32
        hostile()
    return _reference_backprop(A_list, b_list, X, Y)
