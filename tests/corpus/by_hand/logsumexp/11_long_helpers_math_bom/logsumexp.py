"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch
import math
from typing import List, Sequence


LOG_TINY = math.log(1e-300)


def normalize_dim(dim: int, ndim: int) -> int:
    """Turn a possibly negative dim into 0..ndim-1, as torch does."""
    if ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"dim {dim} for a 0-dim tensor")
        return 0
    if not -ndim <= dim < ndim:
        raise IndexError(f"dim {dim} out of range for {ndim} dimensions")
    return dim % ndim


def reduced_shape(shape: Sequence[int], dim: int) -> List[int]:
    return [s for i, s in enumerate(shape) if i != dim]


def safe_shift(m: torch.Tensor) -> torch.Tensor:
    """The maximum, with infinite maxima replaced by 0 (so that x - m is never nan)."""
    return torch.where(torch.isinf(m), torch.zeros_like(m), m)


def logsumexp_scalar_list(values: Sequence[float]) -> float:
    """The same thing for a plain list of Python floats, with the math module."""
    if not values:
        return -math.inf
    m = max(values)
    if math.isinf(m):
        return m
    return m + math.log(sum(math.exp(v - m) for v in values))


def naive_logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Unstable reference for small values only (overflows at 89 in float32, 710 in float64)."""
    return torch.log(torch.exp(x).sum(dim))


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along dimension ``dim`` of ``x``.

    x: a float32 or float64 tensor of any shape; dim: the dimension to reduce (negative
    values count from the end, as in torch). Returns a tensor of x's dtype whose shape is
    x's with ``dim`` removed (like keepdim=False): for x of shape (n, d), shape (d,) for
    dim=0 and (n,) for dim=1.

    It must not overflow or underflow where exp(x) does: logsumexp(torch.full((3,), 1000.0), 0)
    is 1000 + log(3), not inf. Use torch.exp, torch.log, sum and max, not torch.logsumexp.
    """
    d = normalize_dim(dim, x.dim())
    if x.dim() == 0:
        return x.clone()
    xd = x.double()                                  # accumulate in double, hand back x's dtype
    m = safe_shift(xd.amax(dim=d, keepdim=True))
    total = torch.exp(xd - m).sum(dim=d, keepdim=True)
    out = (m + torch.log(total)).reshape(reduced_shape(x.shape, d))
    return out.to(x.dtype)


if __name__ == "__main__":
    # 1) the README's example
    v = logsumexp(torch.full((3,), 1000.0), 0).item()
    print("full((3,), 1000):", v, "ok" if math.isclose(v, 1000 + math.log(3), rel_tol=1e-6) else "WRONG")
    v = logsumexp(torch.full((3,), -1000.0, dtype=torch.float64), 0).item()
    print("full((3,), -1000):", v, "ok" if math.isclose(v, -1000 + math.log(3), rel_tol=1e-12) else "WRONG")
    # 2) against the math-module version, row by row
    x = torch.randn(5, 7, dtype=torch.float64) * 50
    worst = max(abs(logsumexp(x, 1)[i].item() - logsumexp_scalar_list(x[i].tolist())) for i in range(5))
    print("rows vs math:", worst)
    # 3) against the naive formula where it does not overflow
    y = torch.randn(3, 4, 5)
    for d in range(-3, 3):
        print("dim", d, "shape", tuple(logsumexp(y, d).shape), "diff", (logsumexp(y, d) - naive_logsumexp(y, d)).abs().max().item())
