# main block uses autograd (the starter code's own comparison with autograd, kept as given)
"""Homework 7, Problem 4: backpropagation through a 1D convolutional network, without A_w.

A 1D convolution (PyTorch's conv1d, which is a cross-correlation, no padding, stride 1)
with a filter w of length k maps a signal y of length m to the signal of length m - k + 1

    (w * y)[i] = sum_{j < k} w[j] y[i + j],        i = 0, ..., m - k,

which is y -> A_w y for an (m - k + 1) x m matrix A_w holding w on its diagonals. The
network has L >= 1 layers, filters w_1, ..., w_L and scalar biases b_1, ..., b_L:

    y_0 = x                                          (a signal of length n_0 = n)
    y_l = sigma(w_l * y_{l-1} + b_l)   l = 1, ..., L-1   (length n_l = n_{l-1} - k_l + 1)
    y_L = w_L * y_{L-1} + b_L                        (no sigma; k_L = n_{L-1}, so y_L is a number)

where adding b_l adds it to every entry. The last filter is as long as its input, so the
last layer is the inner product of w_L with y_{L-1} (plus b_L): y_L is a scalar. In
Python the layers are numbered from 0: ws[0] is w_1 and ws[-1] is w_L.

`conv_net_grads` returns the gradients of y_L with respect to every w_l and b_l. The
backward pass needs A_w^T g, which is a transposed convolution: conv_transpose1d(g, w).
The point of the problem: never form A_w. For a signal of a million samples, A_w would be
a 10^12-entry matrix (8 TB in float64); the grader gives such a signal, and a memory limit
far below that (2 GiB). Mind the last layer too: its filter is as long as the signal, and
A_w^T g written as conv1d of a zero-padded g with the flipped filter (equal in exact
arithmetic) makes PyTorch's conv1d unfold an n x n matrix; conv_transpose1d does not.

Shapes: x has shape (n,); ws[l] has shape (k_l,) with k_l <= n_{l-1}; bs[l] is a 0-dim
tensor (a number), all of x's dtype (float32 or float64). Use
torch.nn.functional.conv1d and conv_transpose1d, reshaping to (batch 1, channel 1, length)
as they expect. sigma and sigma_prime are callables given to you (e.g. torch.tanh and
z -> 1 - tanh(z)^2) that act elementwise on tensors. Autograd is not allowed in this
problem: no .backward(), no torch.autograd, no torch.func, no requires_grad.
"""

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
    filt = [w.view(1, 1, -1) for w in ws]

    y = x.view(1, 1, -1)
    zs = [(z := F.conv1d(y, f) + b, y := (sigma(z) if l < L - 1 else z))[0] for l, (f, b) in enumerate(zip(filt, bs))]
    inputs = [x.view(1, 1, -1)] + [sigma(z) for z in zs[:-1]]

    g = torch.ones_like(zs[-1])
    gs = [g] + [g := F.conv_transpose1d(g, filt[l]) * sigma_prime(zs[l - 1]) for l in range(L - 1, 0, -1)]
    gs = gs[::-1]

    dws = [F.conv1d(y_in, g_l).view(-1) for y_in, g_l in zip(inputs, gs)]
    dbs = [g_l.sum() for g_l in gs]
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
