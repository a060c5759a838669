"""mfdnn-hw5 backprop, a right solution in another style than the reference.

One recursive call per layer: the call for layer i runs the layer forward, lets the call
for layer i + 1 do the rest of the network, then back-propagates through layer i.
The weight gradients are outer products (torch.outer) and the lists are built by prepending.
"""

from __future__ import annotations

import torch
from torch import Tensor


def backprop(
    A_list: list[Tensor], b_list: list[Tensor], X: Tensor, Y: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """Gradients of ||y_L - Y||^2 / 2 with respect to every A_l and b_l, by hand."""
    dA_list, db_list, _ = _from_layer(0, A_list, b_list, X, Y)
    return dA_list, db_list


def _from_layer(
    i: int, A_list: list[Tensor], b_list: list[Tensor], y_in: Tensor, Y: Tensor
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """Gradients of layers i, ..., L-1 (0-based) and of the loss with respect to y_in."""
    A, b = A_list[i], b_list[i]
    z = torch.addmm(b, A, y_in)
    if i == len(A_list) - 1:
        dA_rest: list[Tensor] = []
        db_rest: list[Tensor] = []
        grad_z = z - Y
    else:
        s = torch.sigmoid(z)
        dA_rest, db_rest, grad_s = _from_layer(i + 1, A_list, b_list, s, Y)
        grad_z = grad_s * s * (1 - s)
    dA = torch.outer(grad_z.squeeze(1), y_in.squeeze(1))
    return [dA, *dA_rest], [grad_z, *db_rest], A.mT @ grad_z
