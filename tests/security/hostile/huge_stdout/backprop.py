"""Hostile: in the homework example's call, writes 500 MB to stdout, then os._exit(7).
The flood is drained and dropped (the student reads a bounded tail and a note of how much
was dropped); that test is an error; the rest is the reference: 19."""

import os
import sys

import torch
from torch import Tensor


def hostile() -> None:
    line = (b"spam " * 200 + b"\n") * 1000  # 1 MB
    for _ in range(500):
        sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
    os._exit(7)


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
