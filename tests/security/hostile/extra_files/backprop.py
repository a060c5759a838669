"""Hostile: the reference backprop, submitted beside files that would break grading if
the grader took them (see extras/: conftest.py, sitecustomize.py, usercustomize.py,
torch.py, numpy.py, safetensors.py, pytest.py, grader.py, __init__.py, a .pth file,
pytest.ini, a forged result.json and gradebook.csv). Only allow-listed files are taken,
so it earns full marks for backprop; momentum is missing.
(The extras are stored with a .txt suffix so that this repository's own pytest never
loads them; the test strips it.)"""

import torch
from torch import Tensor


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
