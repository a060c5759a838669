"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch
import numpy as np


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along dimension ``dim`` of ``x``.

    x: a float32 or float64 tensor of any shape; dim: the dimension to reduce (negative
    values count from the end, as in torch). Returns a tensor of x's dtype whose shape is
    x's with ``dim`` removed (like keepdim=False): for x of shape (n, d), shape (d,) for
    dim=0 and (n,) for dim=1.

    It must not overflow or underflow where exp(x) does: logsumexp(torch.full((3,), 1000.0), 0)
    is 1000 + log(3), not inf. Use torch.exp, torch.log, sum and max, not torch.logsumexp.
    """
    a = x.detach().cpu().numpy()                     # float32 stays float32, float64 stays float64
    m = np.max(a, axis=dim, keepdims=True)
    s = np.sum(np.exp(a - m), axis=dim, keepdims=True)
    r = np.squeeze(m + np.log(s), axis=dim)
    return torch.from_numpy(np.array(r)).to(x.dtype)        # np.array keeps a 0-d result 0-d
