"""Public checks of `scale`: the given helper comes from the template (derived from the reference)."""

from __future__ import annotations

from types import ModuleType

import torch

from grader.checks import Tolerance, close
from grader.fixtures import Generator, Submission


def matches(submission: Submission, given: ModuleType, x: torch.Tensor, factor: float, inputs: str) -> None:
    expected = x * given.as_factor(factor).to(x.dtype)  # the given helper, from the template
    got = submission.function("scale", context=inputs)(x, factor)
    close(got, expected, what=f"scale(x, {factor}) {inputs}", tol=Tolerance.default(x.dtype))


def test_scale_values(submission: Submission, given: ModuleType, generator: Generator) -> None:
    matches(submission, given, torch.randn(4, 3, generator=generator()), 2.5, "on a 4x3 float32 input")
