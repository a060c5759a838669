"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along dimension ``dim`` of ``x``."""
    # BEGIN SOLUTION
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    s = torch.exp(x - m).sum(dim=dim, keepdim=True)
    return (m + torch.log(s)).squeeze(dim)
    # END SOLUTION


def _check(x):
    """A helper given to students."""
    return x.isfinite().all()  # SOLUTION
