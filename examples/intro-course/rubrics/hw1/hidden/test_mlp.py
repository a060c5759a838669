"""Hidden checks of `mlp` (hw1): never released (`grader release` leaves hidden/ out).

Sizes students do not see (one input feature, one output, a wide input), every quantity
at once: the output with the grader's weights in float64, the parameter count and the shape
(each one's fault said, whatever the others').
"""

from __future__ import annotations

import torch

from grader import public_checks
from grader.checks import all_faults
from grader.fixtures import Generator, Submission

public = public_checks(__file__)  # the public checks' module: its helpers, by attribute


def test_other_sizes(submission: Submission, generator: Generator) -> None:
    gen = generator()
    with all_faults() as faults:  # every quantity's fault said, whatever the others'
        for d_in, d_out in ((1, 1), (64, 10), (7, 1)):
            with faults.part():
                public.output_matches(submission, gen, d_in, d_out, torch.float64)
            with faults.part():
                public.has_parameter_count(submission, gen, d_in, d_out)
            with faults.part():
                public.has_output_shape(submission, gen, d_in, d_out)
