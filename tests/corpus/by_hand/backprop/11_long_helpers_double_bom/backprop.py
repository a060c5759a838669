# main block uses autograd (self-check only)
"""Homework 5, Problem 1: backpropagation for a multilayer perceptron, by hand.

The network has L >= 1 layers. With y_0 = X,

    y_l = sigma(A_l y_{l-1} + b_l)    for l = 1, ..., L-1   (hidden layers: sigmoid)
    y_L = A_L y_{L-1} + b_L                                  (output layer: linear)

and the loss is ||y_L - Y||^2 / 2. In Python the layers are numbered from 0:
A_list[0] is A_1 and A_list[-1] is A_L.

`backprop` returns the gradients of the loss with respect to every A_l and b_l,
computed with one forward and one backward pass written out by hand. Autograd is not
allowed in this problem: no `.backward()`, no `torch.autograd`, no `torch.func`.
"""

from __future__ import annotations

import torch
from torch import Tensor
import math
from typing import List, Sequence, Tuple


def sigma(z: Tensor) -> Tensor:
    """The sigmoid activation, sigma(z) = 1 / (1 + exp(-z)), elementwise."""
    return torch.sigmoid(z)


def sigma_prime(z: Tensor) -> Tensor:
    """The derivative of the sigmoid, sigma'(z) = sigma(z) (1 - sigma(z)), elementwise."""
    s = torch.sigmoid(z)
    return s * (1 - s)


# ---------------------------------------------------------------------------
# small linear-algebra helpers (column vectors are (n, 1) tensors)
# ---------------------------------------------------------------------------


def as_column(v: Tensor) -> Tensor:
    """View a vector as an (n, 1) column."""
    return v.reshape(-1, 1)


def outer(u: Tensor, v: Tensor) -> Tensor:
    """u v^T for two columns, as (len u, len v)."""
    return as_column(u) * as_column(v).reshape(1, -1)


def matvec(A: Tensor, v: Tensor) -> Tensor:
    return A @ as_column(v)


def rmatvec(A: Tensor, v: Tensor) -> Tensor:
    """A^T v without forming anything but the result."""
    return A.transpose(0, 1) @ as_column(v)


def affine(A: Tensor, y: Tensor, b: Tensor) -> Tensor:
    return matvec(A, y) + as_column(b)


def squared_error(out: Tensor, target: Tensor) -> float:
    return 0.5 * float(((out - target) ** 2).sum())


def check_network(A_list: Sequence[Tensor], b_list: Sequence[Tensor], X: Tensor, Y: Tensor) -> None:
    if len(A_list) == 0 or len(A_list) != len(b_list):
        raise ValueError("A_list and b_list must be non-empty and of the same length")
    width = X.shape[0]
    for i, (A, b) in enumerate(zip(A_list, b_list)):
        if A.dim() != 2 or A.shape[1] != width:
            raise ValueError(f"layer {i}: weight of shape {tuple(A.shape)} does not take {width} inputs")
        if b.shape != (A.shape[0], 1):
            raise ValueError(f"layer {i}: bias of shape {tuple(b.shape)}")
        width = A.shape[0]
    if Y.shape != (width, 1):
        raise ValueError(f"target of shape {tuple(Y.shape)}, network gives {width}")


def forward_all(A_list: Sequence[Tensor], b_list: Sequence[Tensor], X: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    """Inputs y_0..y_{L-1} of every layer and their pre-activations z_1..z_L; returns (ys, zs)."""
    ys: List[Tensor] = [X]
    zs: List[Tensor] = []
    for i, (A, b) in enumerate(zip(A_list, b_list)):
        z = affine(A, ys[-1], b)
        zs.append(z)
        if i < len(A_list) - 1:
            ys.append(sigma(z))
    return ys, zs


def backward_all(A_list: Sequence[Tensor], ys: List[Tensor], zs: List[Tensor], dz_last: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    L = len(A_list)
    dA: List[Tensor] = [None] * L  # type: ignore[list-item]
    db: List[Tensor] = [None] * L  # type: ignore[list-item]
    dz = dz_last
    for i in range(L - 1, -1, -1):
        dA[i] = outer(dz, ys[i])
        db[i] = as_column(dz)
        if i > 0:
            dz = rmatvec(A_list[i], dz) * sigma_prime(zs[i - 1])
    return dA, db


def numerical_gradient_entry(A_list, b_list, X, Y, layer: int, row: int, col: int, h: float = 1e-6) -> float:
    """Central difference of the loss in one weight entry (for the self-check below)."""
    plus = [A.clone() for A in A_list]
    minus = [A.clone() for A in A_list]
    plus[layer][row, col] += h
    minus[layer][row, col] -= h
    _, zp = forward_all(plus, b_list, X)
    _, zm = forward_all(minus, b_list, X)
    return (squared_error(zp[-1], Y) - squared_error(zm[-1], Y)) / (2 * h)


def backprop(
    A_list: list[Tensor], b_list: list[Tensor], X: Tensor, Y: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """Gradients of the loss ||y_L - Y||^2 / 2 with respect to every weight and bias.

    Args:
        A_list: the weights [A_1, ..., A_L], L >= 1; A_l has shape (n_l, n_{l-1}).
        b_list: the biases [b_1, ..., b_L]; b_l has shape (n_l, 1).
        X: the input y_0, shape (n_0, 1).
        Y: the target, shape (n_L, 1).

    Returns:
        (dA_list, db_list), two lists of length L: dA_list[i] is the gradient of the
        loss with respect to A_list[i] and has its shape; db_list[i] likewise for
        b_list[i]. The gradients have the dtype of the inputs (float32 or float64).

    The hidden layers apply the sigmoid `sigma`; the last layer is linear. The
    gradients are computed by hand: autograd (`.backward()`, `torch.autograd`,
    `torch.func`) must not be used.
    """

    check_network(A_list, b_list, X, Y)
    dtype = X.dtype
    # work in float64 for accuracy, hand back the caller's dtype
    A64 = [A.double() for A in A_list]
    b64 = [b.double() for b in b_list]
    ys, zs = forward_all(A64, b64, X.double())
    dA, db = backward_all(A64, ys, zs, zs[-1] - Y.double())
    return [g.to(dtype) for g in dA], [g.to(dtype) for g in db]


def homework_example() -> tuple[list[Tensor], list[Tensor], Tensor, Tensor]:
    """The homework's network and data: L = 6, five 4x4 layers and a 1x4 last layer."""
    torch.manual_seed(0)
    L = 6
    X_data = torch.rand(4, 1)
    Y_data = torch.rand(1, 1)
    A_list, b_list = [], []
    for _ in range(L - 1):
        A_list.append(torch.rand(4, 4))
        b_list.append(torch.rand(4, 1))
    A_list.append(torch.rand(1, 4))
    b_list.append(torch.rand(1, 1))
    return A_list, b_list, X_data, Y_data


if __name__ == "__main__":
    A_list, b_list, X_data, Y_data = homework_example()
    dA_list, db_list = backprop(A_list, b_list, X_data, Y_data)
    # The homework prints this tensor; its first entry is 2.3943e-05.
    print(dA_list[0])


    # 1) finite differences on one entry, in float64
    A64 = [A.double() for A in A_list]
    b64 = [b.double() for b in b_list]
    dA64, _ = backprop(A64, b64, X_data.double(), Y_data.double())
    fd = numerical_gradient_entry(A64, b64, X_data.double(), Y_data.double(), 0, 0, 0)
    print("finite difference:", fd, "backprop:", dA64[0][0, 0].item(), "close:", math.isclose(fd, dA64[0][0, 0].item(), rel_tol=1e-4))

    # 2) autograd (a self-check only; the function above does not use it)
    params = [t.clone().requires_grad_(True) for t in A_list + b_list]
    out = X_data
    for i in range(len(A_list)):
        out = params[i] @ out + params[len(A_list) + i]
        if i < len(A_list) - 1:
            out = sigma(out)
    loss = ((out - Y_data) ** 2).sum() / 2
    loss.backward()
    diffs = [float((g - p.grad).abs().max()) for g, p in zip(dA_list + db_list, params)]
    print("largest difference from autograd:", max(diffs))
