"""Hidden checks for `backprop` (mfdnn-hw5, Problem 1): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_networks(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for k, sizes in enumerate([[5, 3], [1, 1], [3, 1, 1, 1, 2], public.random_sizes(gen, (8, 12), (1, 4), (1, 3)),
                               public.random_sizes(gen, (2, 3), (30, 60), (5, 9))]):
        A, b, X, Y = public.network(sizes, gen, torch.float64)
        public.check_against_autograd(submission, A, b, X, Y, f"on network {k + 1} of 5 (layer sizes {sizes}, float64)",
                                      public.F64, 1e-9, 1e-12)
