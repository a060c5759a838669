"""Hidden checks for `momentum` (mfdnn-hw5): never released to students (`grader release`
leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.checks import all_faults
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_objectives(submission: Submission, generator: Generator) -> None:
    cases = [("least_squares", torch.float64, 0.99, 40), ("quadratic", torch.float64, 0.3, 0), ("quadratic", torch.float64, 0.3, 1), ("rosenbrock", torch.float32, 0.9, 30)]
    with all_faults() as faults:  # each form's fault said, whatever the other's
        for form in public.FORMS:
            with faults.part():
                public.matches_sgd(submission, generator, form, cases)
