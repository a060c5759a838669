"""scale: write scale(x, factor) (see README.md, Problem 1)."""

import torch

FACTOR_DTYPE = torch.float64  # given: how a factor is held


def as_factor(factor: float) -> torch.Tensor:
    """Given: ``factor`` as a 0-d tensor of FACTOR_DTYPE."""
    return torch.tensor(factor, dtype=FACTOR_DTYPE)


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """x times ``factor``, in x's dtype, as a new tensor (x is left unchanged).

    Use ``as_factor`` above.
    """
    # BEGIN SOLUTION
    # (the factor in x's dtype first: a float64 factor would promote a float32 x)
    f = as_factor(factor).to(x.dtype)
    return x * f
    # END SOLUTION
