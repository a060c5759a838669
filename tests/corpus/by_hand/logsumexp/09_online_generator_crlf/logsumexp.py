"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch


slices = lambda x, dim: (s for s in x.unbind(dim))   # noqa: E731


def running_logsumexp(parts):
    """Online log-sum-exp: yields the value over every slice seen so far."""
    m = acc = None
    for p in parts:
        if m is None:
            m, acc = p, torch.ones_like(p)
        else:
            new_m = torch.maximum(m, p)
            acc = acc * torch.exp(m - new_m) + torch.exp(p - new_m)
            m = new_m
        yield m + torch.log(acc)


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along dimension ``dim`` of ``x``.

    x: a float32 or float64 tensor of any shape; dim: the dimension to reduce (negative
    values count from the end, as in torch). Returns a tensor of x's dtype whose shape is
    x's with ``dim`` removed (like keepdim=False): for x of shape (n, d), shape (d,) for
    dim=0 and (n,) for dim=1.

    It must not overflow or underflow where exp(x) does: logsumexp(torch.full((3,), 1000.0), 0)
    is 1000 + log(3), not inf. Use torch.exp, torch.log, sum and max, not torch.logsumexp.
    """
    result = None
    for result in running_logsumexp(slices(x, dim)):
        pass
    return result
