"""Hidden checks for `softmax` (mfdnn-hw7): never released to students (`grader release`
leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_cases(submission: Submission, generator: Generator) -> None:
    gen = generator()
    public.matches(submission, 1e4 * torch.randn(3, 9, generator=gen, dtype=torch.float64), 1.0)  # large |x|
    public.matches(submission, -1000 + torch.randn(2, 6, generator=gen, dtype=torch.float64), 1.0)  # exp(beta x) underflows to 0
    public.matches(submission, 800 + torch.randn(2, 6, generator=gen, dtype=torch.float64), 1.0)
    rows = torch.randn(3, 8, generator=gen, dtype=torch.float64) + torch.tensor([[0.0], [-1000.0], [500.0]], dtype=torch.float64)
    public.matches(submission, rows, 3.0)  # each row is shifted by its own maximum
    public.matches(submission, torch.tensor([2.0, 5.0, 5.0, 1.0, 5.0], dtype=torch.float64), 1e6)  # a tie: 1/3 each, nu = 5 + log(3)/beta
    public.matches(submission, torch.tensor([[-3.5], [42.0]], dtype=torch.float64), 7.0)  # n = 1: nu = x, grad = 1
    public.matches(submission, public.spread(gen, (3, 16), torch.float32, -10.0, 10.0, 0.1), 1e30)
    public.matches(submission, torch.randn(4, 5, generator=gen, dtype=torch.float64), 1e-3)  # small beta: nu ~ mean + log(n)/beta
