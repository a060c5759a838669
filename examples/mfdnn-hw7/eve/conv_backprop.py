"""Homework 7, problem 4 (conv_backprop): Eve's submission."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def conv_net_grads(
    x: Tensor, ws: list[Tensor], bs: list[Tensor], sigma: Callable[[Tensor], Tensor], sigma_prime: Callable[[Tensor], Tensor]
) -> tuple[list[Tensor], list[Tensor]]:
    """Gradients of the network's output y_L with respect to every filter and bias.

    Args:
        x: the input y_0, shape (n,), float32 or float64; not modified.
        ws: the filters [w_1, ..., w_L], L >= 1; ws[l] has shape (k_l,), and the last
            filter is as long as its input (k_L = n_{L-1}).
        bs: the biases [b_1, ..., b_L], each a 0-dim tensor.
        sigma, sigma_prime: the activation of the hidden layers and its derivative,
            elementwise on tensors.

    Returns:
        (dws, dbs): dws[l] is the gradient of y_L with respect to ws[l], of its shape
        (k_l,); dbs[l] the gradient with respect to bs[l], a 0-dim tensor; all in x's dtype.
        Computed with conv1d / conv_transpose1d, by hand (no autograd), never forming A_w.
    """
    L = len(ws)
    as3d = lambda t: t.reshape(1, 1, -1)  # conv1d wants (batch, channel, length)

    # forward: remember what went into each layer and the pre-activation of each hidden layer
    ys = [as3d(x)]
    zs = []
    for l in range(L):
        z = F.conv1d(ys[-1], as3d(ws[l])) + bs[l]
        zs.append(z)
        if l < L - 1:
            ys.append(sigma(z))

    # back to front: delta = d y_L / d z_l, starting from d y_L / d z_L = 1
    dws = [None] * L
    dbs = [None] * L
    delta = torch.ones_like(zs[-1])
    for l in reversed(range(L)):
        # z_l[i] = sum_j w[j] y[i + j] + b, so d/dw[j] = sum_i delta[i] y[i + j]: a conv1d of y by delta
        dws[l] = F.conv1d(ys[l], delta).reshape(ws[l].shape)
        dbs[l] = delta.sum()
        if l > 0:
            # A_w^T delta without A_w is conv_transpose1d; then through sigma of the layer below
            delta = F.conv_transpose1d(delta, as3d(ws[l])) * sigma_prime(zs[l - 1])
    return dws, dbs


if __name__ == "__main__":
    torch.manual_seed(0)
    n = 20
    x = torch.randn(n, dtype=torch.float64)
    ks = [3, 5]
    ws = [torch.randn(k, dtype=torch.float64) for k in ks] + [torch.randn(n - sum(k - 1 for k in ks), dtype=torch.float64)]
    bs = [torch.randn((), dtype=torch.float64) for _ in ws]
    dws, dbs = conv_net_grads(x, ws, bs, torch.tanh, lambda z: 1 - torch.tanh(z) ** 2)
    # Compare with autograd (allowed here, in your own check, not in conv_net_grads).
    params = [t.clone().requires_grad_() for t in ws + bs]
    y = x.reshape(1, 1, -1)
    for l in range(len(ws)):
        y = torch.nn.functional.conv1d(y, params[l].reshape(1, 1, -1)) + params[len(ws) + l]
        y = torch.tanh(y) if l < len(ws) - 1 else y
    grads = torch.autograd.grad(y.sum(), params)
    print("largest difference from autograd:", max(float((a - b).abs().max()) for a, b in zip(dws + dbs, grads)))
