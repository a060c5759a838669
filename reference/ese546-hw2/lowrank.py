"""ESE 546, Homework 2: the best rank-r approximation of a matrix.

Given a matrix X of shape (m, n) and a rank r with 1 <= r <= min(m, n), find A of shape
(m, r) and B of shape (r, n) that minimise the Frobenius norm ||X - A B||_F.
(Eckart-Young: the minimum is sqrt(s_{r+1}^2 + ... + s_min(m,n)^2), where s_1 >= s_2 >= ...
are the singular values of X.)
"""

from __future__ import annotations

import torch
from torch import Tensor


def best_rank_r(X: Tensor, r: int) -> tuple[Tensor, Tensor]:
    """Return (A, B) with A of shape (m, r) and B of shape (r, n) minimising ||X - A @ B||_F.

    Args:
        X: a floating-point matrix of shape (m, n) (float32 or float64); leave it unchanged.
        r: the rank, 1 <= r <= min(m, n).

    Returns:
        A tuple (A, B) of tensors of X's dtype and device.
    """
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)  # X = U diag(S) Vh, S in decreasing order
    return U[:, :r] * S[:r], Vh[:r, :].clone()


if __name__ == "__main__":
    X = torch.randn(6, 4, dtype=torch.float64)
    A, B = best_rank_r(X, 2)
    print("error", torch.linalg.norm(X - A @ B).item(), "optimal", torch.linalg.svdvals(X)[2:].norm().item())
