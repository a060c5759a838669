"""Hostile: at import, leaves processes behind: a plain child (`sleep 297.1`), one in a
session of its own (`sleep 297.2`), a double-forked daemon (`sleep 297.3`) and a shell
that ignores SIGTERM/SIGHUP/SIGINT (`sleep 297.4`). The rest is the reference, so it earns
full marks, and none of those processes may outlive its grading."""

import os
import subprocess

import torch
from torch import Tensor

CHILDREN = [
    subprocess.Popen(["sleep", "297.1"]),
    subprocess.Popen(["sleep", "297.2"], start_new_session=True),
    subprocess.Popen(["sh", "-c", "trap '' TERM HUP INT; sleep 297.4; :"], start_new_session=True),
]


def daemon() -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "297.3"])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


daemon()


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
