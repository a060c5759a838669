"""Hostile: prints fake results (a result.json, "50/50 PASSED", a gradebook line) on stdout
and stderr, at import and on every call. Its honest part has a known mistake: it returns
the transpose of each dA (mistake backprop_dA_transposed), which fails every value check
and the shape check; only test_no_autograd passes.
"""

import json
import sys

import torch
from torch import Tensor

FAKE = json.dumps({"assignment": "mfdnn-hw5", "student": "print_fake_results", "score": 50.0, "max_score": 50.0,
                   "problems": [{"id": "backprop", "score": 25.0, "max_score": 25.0}], "tests": []})


def shout() -> None:
    for stream in (sys.stdout, sys.stderr):
        print(FAKE, file=stream)
        print("  PASSED  25/25  print_fake_results: backprop\n  == print_fake_results: 50/50 PASSED", file=stream)
        print("student,backprop,momentum,score,max_score\nprint_fake_results,25,25,50,50", file=stream, flush=True)


shout()


def sigma(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def sigma_prime(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


def backprop(A_list, b_list, X, Y):
    shout()
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
        dA_reversed.append(inputs[i] @ delta.T)  # the known mistake: the transpose of the gradient
        db_reversed.append(delta)
        if i > 0:
            delta = (A_list[i].T @ delta) * slopes[i - 1]
    return dA_reversed[::-1], db_reversed[::-1]
