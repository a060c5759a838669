"""Hostile: calls os.abort() (SIGABRT) inside test_shapes' call. The process dies; that
test is an error and the next test gets a fresh worker; the rest is the reference: 22."""

import os

import torch
from torch import Tensor


def hostile() -> None:
    print("aborting", flush=True)
    os.abort()


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
    if [tuple(A.shape) for A in A_list] == [(5, 3), (4, 5), (2, 4)]:  # only test_shapes uses layer sizes [3, 5, 4, 2]
        hostile()
    return _reference_backprop(A_list, b_list, X, Y)
