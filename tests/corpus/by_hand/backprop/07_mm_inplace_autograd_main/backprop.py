# main block uses autograd (only to self-check; backprop itself is by hand)
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


def sigma(z: Tensor) -> Tensor:
    """The sigmoid activation, sigma(z) = 1 / (1 + exp(-z)), elementwise."""
    return torch.sigmoid(z)


def sigma_prime(z: Tensor) -> Tensor:
    """The derivative of the sigmoid, sigma'(z) = sigma(z) (1 - sigma(z)), elementwise."""
    s = torch.sigmoid(z)
    return s * (1 - s)


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

    L = len(A_list)
    acts = [X.clone()]
    pre = []
    for l in range(L):
        z = torch.mm(A_list[l], acts[-1])
        z += b_list[l]                      # in place on our own new tensor
        pre.append(z)
        if l < L - 1:
            acts.append(torch.sigmoid(z.clone()))
        else:
            acts.append(z.clone())

    dA_list = [torch.empty(0)] * L
    db_list = [torch.empty(0)] * L
    g = acts[-1].clone()
    g.sub_(Y)                               # dloss/dz_L
    for l in range(L - 1, -1, -1):
        dA_list[l] = torch.matmul(g, acts[l].t())
        db_list[l] = g.clone()
        if l > 0:
            s = torch.sigmoid(pre[l - 1])
            ds = s.clone()
            ds.mul_(1 - s)                  # sigma'(z) = s (1 - s)
            g = torch.matmul(A_list[l].t(), g)
            g.mul_(ds)
    return dA_list, db_list


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

    # self-check against autograd on random networks (never used inside backprop)
    for dims in ([3, 2], [4, 5, 1], [2, 3, 3, 3, 2]):
        for dtype in (torch.float32, torch.float64):
            As = [torch.randn(dims[i + 1], dims[i], dtype=dtype, requires_grad=True) for i in range(len(dims) - 1)]
            bs = [torch.randn(dims[i + 1], 1, dtype=dtype, requires_grad=True) for i in range(len(dims) - 1)]
            x = torch.randn(dims[0], 1, dtype=dtype)
            t = torch.randn(dims[-1], 1, dtype=dtype)
            out = x
            for i in range(len(As)):
                out = As[i] @ out + bs[i]
                if i < len(As) - 1:
                    out = torch.sigmoid(out)
            (((out - t) ** 2).sum() / 2).backward()
            mine_A, mine_b = backprop([a.detach() for a in As], [b.detach() for b in bs], x, t)
            worst = max((m - a.grad).abs().max().item() for m, a in zip(mine_A + mine_b, As + bs))
            print(dims, dtype, "max |mine - autograd| =", worst)
