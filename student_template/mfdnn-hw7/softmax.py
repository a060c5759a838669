"""Homework 7: the log-sum-exp (soft maximum) and its gradient, the softmax, computed stably.

For x in R^n and beta > 0,

    nu(x, beta)      = (1 / beta) log( sum_i exp(beta x_i) )
    grad_nu(x, beta) = the gradient of nu with respect to x
                     = exp(beta x) / sum_j exp(beta x_j)          (the softmax of beta x)

As beta -> infinity, nu(x, beta) -> max_i x_i, and when the maximum is attained at a
single index i*, grad_nu(x, beta) -> the one-hot vector e_{i*}. Evaluated as written,
exp(beta x_i) overflows (float32: beyond exp(88); float64: beyond exp(709)) or
underflows to 0 long before that limit is reached: for beta = 100 and x_i = 10, or
x_i = -1000 and beta = 1, the formula gives inf or log(0). Both functions must give the
right, finite answer for every beta > 0 and every finite x: large beta, large |x|.

Shapes and dtypes: x is a float32 or float64 tensor of shape (..., n), n >= 1, batched
along its last dimension: each x[..., :] is one vector. beta is a Python float > 0.
- nu(x, beta) returns a tensor of shape x.shape[:-1] (a 0-dim tensor for a 1-D x);
- grad_nu(x, beta) returns a tensor of x's shape, each x[..., :] giving its own softmax;
both in x's dtype, on x's device. x itself is left unchanged.

Write both with torch.exp and torch.log: shifting by the maximum is the point of the
problem. (The grader checks the values only, so it does not forbid torch.logsumexp or
torch.softmax; it does not need them either.)
"""

from __future__ import annotations

import torch
from torch import Tensor


def nu(x: Tensor, beta: float) -> Tensor:
    """The soft maximum (1 / beta) log sum_i exp(beta x_i) of each vector x[..., :].

    Args:
        x: float32 or float64, shape (..., n) with n >= 1; not modified.
        beta: a Python float > 0.

    Returns:
        A tensor of shape x.shape[:-1] and x's dtype, finite for every finite x and beta > 0.
    """
    raise NotImplementedError("Write nu(x, beta): (1 / beta) log sum exp(beta x) along the last dimension, without overflow.")


def grad_nu(x: Tensor, beta: float) -> Tensor:
    """The gradient of nu(., beta) at x: the softmax of beta x[..., :], for each vector.

    Args:
        x: float32 or float64, shape (..., n) with n >= 1; not modified.
        beta: a Python float > 0.

    Returns:
        A tensor of x's shape and dtype: nonnegative entries summing to 1 along the last
        dimension, finite for every finite x and beta > 0.
    """
    raise NotImplementedError("Write grad_nu(x, beta): the softmax of beta x along the last dimension, without overflow.")


if __name__ == "__main__":
    x = torch.tensor([1.0, 3.0, 2.0, -1.0])
    for beta in (1.0, 10.0, 100.0, 1e4, 1e8):
        print(f"beta = {beta:g}: nu = {float(nu(x, beta)):.6f} (max {float(x.max()):g}), grad_nu = {grad_nu(x, beta)}")
