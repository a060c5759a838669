"""Hidden checks for `bottleneck` (mfdnn-hw5, Problem 5): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

from grader import public_checks
from types import ModuleType
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_sizes(submission: Submission, given: ModuleType, generator: Generator) -> None:
    gen = generator()
    one = dict.fromkeys(public.INCEPTION_3A, 1)
    public.matches(submission, given, one, 1, 1, public.EVERY, "every size 1, a 1 x 1 image")
    public.matches(submission, given, {**public.sizes_from(gen, 1, 8), "c_in": 480}, 14, 3, public.EVERY,
                   "480 input channels, a 14 x 3 image")
    public.matches(submission, given, {**public.sizes_from(gen, 1, 5), "r3": 1, "r5": 1}, 7, 7,
                   tuple(c for c in public.EVERY if c.startswith("bottleneck")), "a one-channel bottleneck")
