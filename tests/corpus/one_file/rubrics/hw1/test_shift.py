"""Public checks of `shift`."""

from __future__ import annotations

import torch

from grader.checks import Tolerance, close
from grader.fixtures import Generator, Submission


def test_shift_values(submission: Submission, generator: Generator) -> None:
    x = torch.randn(3, 4, generator=generator())
    got = submission.function("shifted", context="on a 3x4 input")(x, 1.5)
    close(got, x + 1.5, what="shifted(x, 1.5) on a 3x4 input", tol=Tolerance.default(x.dtype))
