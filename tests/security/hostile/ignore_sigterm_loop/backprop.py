"""Hostile: in the homework example's call, ignores SIGTERM, SIGINT, SIGHUP, SIGQUIT,
SIGUSR1, SIGUSR2 and SIGALRM, then spins forever. That test times out (20 s) and the
process is killed anyway; the rest is the reference: 19."""

import signal

import torch
from torch import Tensor


def hostile() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM):
        signal.signal(sig, signal.SIG_IGN)
    while True:
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
