"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along dimension ``dim`` of ``x``.

    x: a float32 or float64 tensor of any shape; dim: the dimension to reduce (negative
    values count from the end, as in torch). Returns a tensor of x's dtype whose shape is
    x's with ``dim`` removed (like keepdim=False): for x of shape (n, d), shape (d,) for
    dim=0 and (n,) for dim=1.

    It must not overflow or underflow where exp(x) does: logsumexp(torch.full((3,), 1000.0), 0)
    is 1000 + log(3), not inf. Use torch.exp, torch.log, sum and max, not torch.logsumexp.
    """
    d = dim % x.dim()
    moved = x.transpose(d, -1)                       # reduced dimension last
    out_shape = moved.shape[:-1]
    rows = moved.reshape(-1, moved.shape[-1])
    values = [row.max() + torch.log(torch.exp(row - row.max()).sum()) for row in rows]
    if len(values) == 0:
        return x.new_empty(out_shape)
    result = torch.stack(values).reshape(out_shape)
    # transpose(d, -1) put the old last axis at position d: move it back to the end
    if d != x.dim() - 1:
        result = result.movedim(d, -1)
    return result
