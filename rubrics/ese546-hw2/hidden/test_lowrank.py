"""Hidden checks for `lowrank` (ESE 546, Homework 2): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.checks import close
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_cases(submission: Submission, generator: Generator) -> None:
    gen = generator()
    public.error_is_optimal(submission, public.matrix(gen, 6, 4), 4)  # full rank: the error is 0
    public.matches_truncated_svd(submission, public.matrix(gen, 10, 3), 1)  # rank one, tall
    public.matches_truncated_svd(submission, public.matrix(gen, 3, 11), 2)  # wide
    low = public.matrix(gen, 9, 8, rank=2)  # rank 2 asked for rank 3: X itself
    public.error_is_optimal(submission, low, 3)
    close(public.product(public.run(submission, low, 3), low, 3), low.to(torch.float64),
          tol=public.tolerance(torch.float64, float(low.norm())),
          check_dtype=False, index_names=["row", "column"], what="A B for a rank-2 X and r = 3 (it must be X itself)")
    public.error_is_optimal(submission, public.matrix(gen, 20, 15, torch.float32), 5)
