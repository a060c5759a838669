"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch


def _combine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(exp(a) + exp(b)) elementwise, shifted by the larger of the two."""
    m = torch.maximum(a, b)
    return m + torch.log(torch.exp(a - m) + torch.exp(b - m))


def _reduce(x: torch.Tensor, dim: int) -> torch.Tensor:
    n = x.shape[dim]
    if n == 1:
        return x.squeeze(dim)
    half = n // 2
    left = _reduce(x.narrow(dim, 0, half), dim)
    right = _reduce(x.narrow(dim, half, n - half), dim)
    return _combine(left, right)


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along dimension ``dim`` of ``x``.

    x: a float32 or float64 tensor of any shape; dim: the dimension to reduce (negative
    values count from the end, as in torch). Returns a tensor of x's dtype whose shape is
    x's with ``dim`` removed (like keepdim=False): for x of shape (n, d), shape (d,) for
    dim=0 and (n,) for dim=1.

    It must not overflow or underflow where exp(x) does: logsumexp(torch.full((3,), 1000.0), 0)
    is 1000 + log(3), not inf. Use torch.exp, torch.log, sum and max, not torch.logsumexp.
    """
    if x.dim() == 0:
        return x.clone()
    d = dim % x.dim()
    if x.shape[d] == 1:
        return x.squeeze(d).clone()                  # a new tensor, not a view of x
    return _reduce(x, d)
