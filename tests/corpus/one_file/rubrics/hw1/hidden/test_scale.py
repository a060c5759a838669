"""Hidden checks of `scale`: never released."""

from __future__ import annotations

from types import ModuleType

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_scale_hidden_shapes(submission: Submission, given: ModuleType, generator: Generator) -> None:
    gen = generator()
    for shape in [(1,), (2, 3, 5)]:
        x = torch.randn(*shape, generator=gen, dtype=torch.float64)
        public.matches(submission, given, x, -0.5, f"on a {shape} float64 input")
