"""Hidden checks of `logsumexp` (hw1): never released (`grader release` leaves hidden/ out).

Inputs students do not see: more than two dimensions and a negative ``dim``, and the other
side of the stability question, entries near -1000, where exp(x) underflows to 0 and a
naive log(sum(exp(x))) is -inf. The comparison is the public one (``public.matches``).
"""

from __future__ import annotations

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)  # the public checks' module: its helpers, by attribute


def test_other_shapes(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for shape, dtype, dims in (((2, 3, 4), torch.float64, (0, 1, 2, -1)),
                               ((3, 1, 5), torch.float32, (-1, -2)),
                               ((6,), torch.float64, (0, -1))):  # fmt: skip
        x = torch.randn(shape, generator=gen, dtype=dtype)
        for dim in dims:
            public.matches(submission, x, dim)


def test_large_negative(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for dtype in (torch.float32, torch.float64):
        x = public.large(gen, (5, 4), dtype, -1000.0)
        for dim in (0, 1):
            public.matches(submission, x, dim)
