"""Hidden checks for `memorization` (mfdnn-hw5): never released to students (`grader release`
leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)

LARGER = (12_000, 3_072)  # how many images: on a CUDA GPU, on the CPU


def test_hidden_larger_set(submission: Submission, generator: Generator, device: str) -> None:
    public.fits(submission, generator(), device, LARGER)
