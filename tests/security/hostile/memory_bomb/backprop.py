"""Hostile: in the homework example's call, tries to allocate and touch 20 GB (20 blocks
of 1 GiB). The worker's memory limit (2 GiB) stops it with an allocation error; that test
is an error that mentions memory; the rest is the reference: 19."""

import torch
from torch import Tensor


def hostile() -> None:
    blocks = []
    for _ in range(20):
        blocks.append(torch.ones(1 << 30, dtype=torch.uint8))
    print(sum(int(b[0]) for b in blocks))


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
