"""Checks for `lowrank` (ESE 546, Homework 2). The oracle is torch.linalg.svd on this side:
by Eckart-Young the smallest ||X - AB||_F over rank-r products is the norm of the trailing
singular values, reached only by the truncated SVD when s_r > s_{r+1}."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import CheckFailed, Tolerance, all_faults, close, that
from grader.fixtures import Generator, Submission


def matrix(gen: torch.Generator, m: int, n: int, dtype: torch.dtype = torch.float64, rank: int | None = None) -> torch.Tensor:
    """A random m x n matrix (of the given rank) whose singular values are well apart."""
    k = min(m, n) if rank is None else rank
    U, _ = torch.linalg.qr(torch.randn(m, k, generator=gen, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(n, k, generator=gen, dtype=torch.float64))
    s = torch.linspace(3.0, 0.5, k, dtype=torch.float64) * (1 + 0.05 * torch.rand(k, generator=gen, dtype=torch.float64))
    return ((U * s) @ V.T).to(dtype)


def run(submission: Submission, X: torch.Tensor, r: int) -> dict[str, Any]:
    """The student's best_rank_r(X, r), called directly (no driver): its A and B, and what the
    call did to X (read in the worker from its own hold on X from before the call; whether X
    changed is decided here)."""
    where = f"on a {X.shape[0]} x {X.shape[1]} {str(X.dtype)[6:]} matrix with r = {r}"
    called = submission.function("best_rank_r", context=where, inputs=True)(X, r)
    out = called.value
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"On {where[3:]}: best_rank_r should return a tuple (A, B), got {type(out).__name__}"
                          + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    for name, t in zip("AB", out):
        if not isinstance(t, torch.Tensor):
            raise CheckFailed(f"On {where[3:]}: best_rank_r returned {name} as a {type(t).__name__}, not a tensor")
    return {"A": out[0], "B": out[1], "X_changes": called.changes(["X", "r"])}


def product(got: dict[str, Any], X: torch.Tensor, r: int) -> torch.Tensor:
    """A @ B, once A and B are shaped so that the product is an m x n matrix."""
    A, B = got["A"], got["B"]
    m, n = X.shape
    if A.dim() != 2 or B.dim() != 2 or A.shape[0] != m or B.shape[1] != n or A.shape[1] != B.shape[0]:
        raise CheckFailed(f"A has shape {tuple(A.shape)} and B {tuple(B.shape)}: A @ B is not a {m} x {n} matrix "
                          f"(expected A of shape ({m}, {r}) and B of shape ({r}, {n})).")
    return A.to(torch.float64) @ B.to(torch.float64)


def tolerance(dtype: torch.dtype, scale: float) -> Tolerance:
    if dtype == torch.float64:
        return Tolerance(rtol=1e-8, atol=1e-10 * scale, why="float64: an SVD is exact up to rounding")
    return Tolerance(rtol=1e-4, atol=1e-5 * scale, why="float32 rounding in the factorisation")


def optimal(X: torch.Tensor, r: int) -> torch.Tensor:
    return torch.linalg.svdvals(X.to(torch.float64))[r:].norm()


def error_is_optimal(submission: Submission, X: torch.Tensor, r: int) -> None:
    got = run(submission, X, r)
    AB = product(got, X, r)
    that(got["A"].shape[1] == r, f"A has {got['A'].shape[1]} columns: A @ B then has rank up to {got['A'].shape[1]}, not {r}.")
    err = torch.linalg.norm(X.to(torch.float64) - AB)
    close(err.reshape(1), optimal(X, r).reshape(1), tol=tolerance(X.dtype, float(X.norm())), check_dtype=False,
          what=f"||X - A B||_F for a {X.shape[0]} x {X.shape[1]} {str(X.dtype)[6:]} X and r = {r}, against the smallest "
               f"possible value {_tail(r, min(X.shape))}")  # fmt: skip


def _tail(r: int, n: int) -> str:
    """The singular values left out by a rank-r approximation, said without an empty range."""
    if r >= n:
        return "0 (r is at least the rank's bound: nothing is left out)"
    if r + 1 == n:
        return f"s_{n}"
    if r + 2 == n:
        return f"sqrt(s_{r + 1}^2 + s_{n}^2)"
    return f"sqrt(s_{r + 1}^2 + ... + s_{n}^2)"


def matches_truncated_svd(submission: Submission, X: torch.Tensor, r: int) -> None:
    got = run(submission, X, r)
    AB = product(got, X, r)
    U, S, Vh = torch.linalg.svd(X.to(torch.float64), full_matrices=False)
    best = (U[:, :r] * S[:r]) @ Vh[:r]
    close(AB, best, tol=tolerance(X.dtype, float(S[0])), check_dtype=False, index_names=["row", "column"],
          what=f"A B against X's truncated SVD U_r diag(s_1..s_{r}) V_r^T ({X.shape[0]} x {X.shape[1]}, r = {r})")


SHAPES = [(8, 5, 2), (6, 6, 3), (5, 9, 1), (12, 7, 4)]


def test_optimal_error(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for m, n, r in SHAPES:
        error_is_optimal(submission, matrix(gen, m, n), r)


def test_product_is_the_truncated_svd(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for m, n, r in SHAPES:
        matches_truncated_svd(submission, matrix(gen, m, n), r)


def test_shapes_and_dtype(submission: Submission, generator: Generator) -> None:
    """The shapes and dtypes of A and B, every fault said at once."""
    gen = generator()
    with all_faults() as faults:
        for (m, n, r), dtype in zip(SHAPES, (torch.float64, torch.float32, torch.float64, torch.float32)):
            X = matrix(gen, m, n, dtype)
            with faults.part():
                got = run(submission, X, r)
                for name, t, shape in (("A", got["A"], (m, r)), ("B", got["B"], (r, n))):
                    faults.that(tuple(t.shape) == shape, f"For a {m} x {n} X and r = {r}, {name} should have shape {shape}; "
                                f"got {tuple(t.shape)}.")
                    faults.that(t.dtype == X.dtype, f"{name} is {t.dtype}, but X is {X.dtype}: return tensors of X's dtype.")


def test_input_unchanged(submission: Submission, generator: Generator) -> None:
    gen = generator()
    X = matrix(gen, 7, 5)
    changed = run(submission, X, 2)["X_changes"]  # decided here, from X as the worker held it from before the call
    that(not changed, "best_rank_r modified X:\n  " + "\n  ".join(changed) + "\nLeave X unchanged (work on a copy).")
