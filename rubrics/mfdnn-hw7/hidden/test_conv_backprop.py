"""Hidden checks for `conv_backprop` (mfdnn-hw7, Problem 4): never released to students
(`grader release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_nets(submission: Submission, generator: Generator) -> None:
    gen = generator()
    public.check(submission, *public.network(gen, 10, []), "tanh")  # L = 1: y_L = <w_1, x> + b_1, so dw = x, db = 1
    public.check(submission, *public.network(gen, 8, [1, 1]), "sigmoid")  # filters of length 1
    public.check(submission, *public.network(gen, 9, [9]), "softplus")  # a hidden filter as long as its input: then n_1 = 1
    public.check(submission, *public.network(gen, 40, [3, 2, 5, 1, 4, 2, 3]), "tanh")  # L = 8
    public.check(submission, *public.network(gen, 30, [4, 3], torch.float32), "softplus")  # float32
