"""mfdnn-hw5 backprop, a right solution in another style than the reference.

Layers are numbered 1..L as in the lecture notes; the pre-activations z_l and the outputs
y_l are kept in dicts, both passes are while loops, and the backward pass carries the
gradient with respect to the outputs y_l (sigma' taken as y_l (1 - y_l)).
"""

from __future__ import annotations

import torch
from torch import Tensor


def sigma(z: Tensor) -> Tensor:
    """The sigmoid activation, elementwise."""
    return torch.sigmoid(z)


def backprop(
    A_list: list[Tensor], b_list: list[Tensor], X: Tensor, Y: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """Gradients of ||y_L - Y||^2 / 2 with respect to every A_l and b_l, by hand."""
    L = len(A_list)
    z: dict[int, Tensor] = {}
    y: dict[int, Tensor] = {0: X}
    l = 1
    while l <= L:
        z[l] = A_list[l - 1] @ y[l - 1] + b_list[l - 1]
        y[l] = z[l] if l == L else sigma(z[l])
        l += 1

    dA: dict[int, Tensor] = {}
    db: dict[int, Tensor] = {}
    grad_y = y[L] - Y  # d loss / d y_L
    l = L
    while l >= 1:
        # d loss / d z_l: the output layer is linear; a hidden layer multiplies by
        # sigma'(z_l) = y_l (1 - y_l).
        grad_z = grad_y if l == L else grad_y * y[l] * (1 - y[l])
        dA[l] = grad_z @ y[l - 1].T
        db[l] = grad_z
        grad_y = A_list[l - 1].T @ grad_z  # d loss / d y_{l-1}
        l -= 1
    return [dA[l] for l in range(1, L + 1)], [db[l] for l in range(1, L + 1)]
