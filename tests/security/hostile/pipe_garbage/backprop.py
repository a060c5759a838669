"""Hostile: in the homework example's call, finds the worker's reply channel (any pipe or
socket it holds open beyond stdin/stdout/stderr: --rep-fd on the command line of a local
worker, a copy of the attached stdout in a container) and writes garbage into it before
the real reply: 64 frame headers that
each announce an impossible 18-exabyte header. That call's answer is unusable, so that
test is lost; a fair grader then drops the corrupted channel, so the other tests (a fresh
worker) are the reference's: 19."""

import os
import stat

import torch
from torch import Tensor


def channels() -> list[int]:
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if fd > 2 and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            found.append(fd)
    return found


def hostile() -> None:
    for fd in channels():
        try:
            os.write(fd, b"\xff" * 8 * 64)
        except OSError:  # the request channel's read end
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
