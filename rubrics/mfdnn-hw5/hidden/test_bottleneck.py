"""Hidden checks for `bottleneck` (mfdnn-hw5, Problem 5): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

from types import ModuleType

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_sizes(submission: Submission, given: ModuleType, generator: Generator) -> None:
    gen = generator()
    one = dict.fromkeys(public.INCEPTION_3A, 1)
    public.matches(submission, given, one, 1, 1, public.EVERY, "every size 1, a 1 x 1 image")
    public.matches(submission, given, {**public.sizes_from(gen, 1, 8), "c_in": 480}, 14, 3, public.EVERY,
                   "480 input channels, a 14 x 3 image")
    # widths from 2 beside the one-channel reductions: a branch's two widths swapped always shows
    # here (with widths from 1, r3 = n3 = 1 hid it on 1 seed in 4, and the 480-channel case's
    # r3 = n3 on 1 in 7: bottleneck_reduce_widths_swapped then passed on 3.6% of the seeds)
    public.matches(submission, given, {**public.sizes_from(gen, 2, 5), "r3": 1, "r5": 1}, 7, 7,
                   tuple(c for c in public.EVERY if c.startswith("bottleneck")), "a one-channel bottleneck")
