"""logsumexp: the reference solution (never released to students)."""

import torch  # the one import the solution needs


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along ``dim``, with ``dim`` removed, in x's dtype, without overflow.

    log sum_i exp(x_i) = m + log sum_i exp(x_i - m) for any m; with m = max_i x_i every
    exp(x_i - m) is at most 1 (no overflow) and one of them is exactly 1 (the sum is at
    least 1, so its log is finite: no underflow to log(0) either).
    """
    m = x.amax(dim=dim, keepdim=True)
    # A slice of infinities only would give inf - inf = nan below: shift it by 0 instead.
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    # The end solution is m + log(s): s >= 1, so log(s) is finite.
    s = torch.exp(x - m).sum(dim=dim, keepdim=True)
    return (m + torch.log(s)).squeeze(dim)
