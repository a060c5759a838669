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
import math
from typing import List, Sequence, Tuple


# ---------------------------------------------------------------------------
# Helpers. A signal is kept as a (1, 1, length) tensor, the layout conv1d wants.
# ---------------------------------------------------------------------------


def to_signal(v: Tensor) -> Tensor:
    """(n,) -> (1, 1, n)."""
    return v.reshape(1, 1, -1)


def from_signal(s: Tensor) -> Tensor:
    """(1, 1, n) -> (n,)."""
    return s.reshape(-1)


def conv_apply(w: Tensor, y: Tensor) -> Tensor:
    """A_w y: the valid cross-correlation of the signal y with the filter w."""
    return F.conv1d(y, to_signal(w))


def conv_apply_transpose(w: Tensor, g: Tensor) -> Tensor:
    """A_w^T g, a transposed convolution; its length is len(g) + len(w) - 1."""
    return F.conv_transpose1d(g, to_signal(w))


def filter_gradient(y_in: Tensor, g: Tensor) -> Tensor:
    """d/dw of <g, A_w y_in> = (C_g y_in): correlate the layer input with g."""
    return from_signal(F.conv1d(y_in, g))


def output_lengths(n: int, ks: Sequence[int]) -> List[int]:
    lengths = [n]
    for k in ks:
        lengths.append(lengths[-1] - k + 1)
    return lengths


def validate(x: Tensor, ws: Sequence[Tensor], bs: Sequence[Tensor]) -> None:
    if x.dim() != 1:
        raise ValueError(f"x must be 1-D, got {tuple(x.shape)}")
    if len(ws) == 0 or len(ws) != len(bs):
        raise ValueError("need as many biases as filters, and at least one layer")
    lengths = output_lengths(x.shape[0], [w.shape[0] for w in ws])
    if min(lengths) < 1:
        raise ValueError(f"a filter is longer than its input: lengths {lengths}")
    if lengths[-1] != 1:
        raise ValueError(f"the network should end with one number, not {lengths[-1]}")


def forward_pass(x: Tensor, ws: Sequence[Tensor], bs: Sequence[Tensor], sigma) -> Tuple[List[Tensor], List[Tensor]]:
    """Layer inputs y_0..y_{L-1} and pre-activations z_1..z_L."""
    inputs: List[Tensor] = [to_signal(x)]
    pre: List[Tensor] = []
    for i, (w, b) in enumerate(zip(ws, bs)):
        z = conv_apply(w, inputs[-1]) + b
        pre.append(z)
        if i < len(ws) - 1:
            inputs.append(sigma(z))
    return inputs, pre


def backward_pass(ws: Sequence[Tensor], inputs: List[Tensor], pre: List[Tensor], sigma_prime) -> Tuple[List[Tensor], List[Tensor]]:
    L = len(ws)
    dws: List[Tensor] = [None] * L  # type: ignore[list-item]
    dbs: List[Tensor] = [None] * L  # type: ignore[list-item]
    g = torch.ones_like(pre[-1])
    for i in range(L - 1, -1, -1):
        dws[i] = filter_gradient(inputs[i], g)
        dbs[i] = g.sum()
        if i > 0:
            g = conv_apply_transpose(ws[i], g) * sigma_prime(pre[i - 1])
    return dws, dbs


def network_output(x: Tensor, ws: Sequence[Tensor], bs: Sequence[Tensor], sigma) -> float:
    _, pre = forward_pass(x, ws, bs, sigma)
    return float(pre[-1].reshape(()))


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

    validate(x, ws, bs)
    dtype = x.dtype
    x64 = x.double()
    ws64 = [w.double() for w in ws]
    bs64 = [b.double() for b in bs]
    inputs, pre = forward_pass(x64, ws64, bs64, sigma)
    dws, dbs = backward_pass(ws64, inputs, pre, sigma_prime)
    return [d.to(dtype) for d in dws], [d.to(dtype) for d in dbs]


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

    # and a float32 run: the gradients come back in float32
    dws32, dbs32 = conv_net_grads(x.float(), [w.float() for w in ws], [b.float() for b in bs], torch.tanh, lambda z: 1 - torch.tanh(z) ** 2)
    print("float32 dtypes:", {d.dtype for d in dws32 + dbs32}, "largest difference from float64:",
          max(float((a.double() - b).abs().max()) for a, b in zip(dws32 + dbs32, dws + dbs)))
    print("output lengths:", output_lengths(n, [w.shape[0] for w in ws]), "y_L =", round(network_output(x, ws, bs, torch.tanh), 6),
          "finite:", math.isfinite(network_output(x, ws, bs, torch.tanh)))
