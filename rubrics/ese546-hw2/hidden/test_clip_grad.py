"""Hidden checks for `clip_grad` (ESE 546, Homework 2): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_cases(submission: Submission, generator: Generator) -> None:
    gen = generator()
    many = public.gradients(gen, [(50,)] * 10 + [(3, 3)], 0.3)
    total = float(torch.sqrt(sum((g ** 2).sum() for g in many)))
    public.matches(submission, "clip_by_norm", many, total / 10, "eleven tensors: the norm is over all of them, not each alone")
    public.matches(submission, "clip_by_norm", [torch.zeros(4, dtype=torch.float64)], 1.0, "a zero gradient stays zero")
    f32 = public.gradients(gen, public.SHAPES, 5.0, torch.float32)
    public.matches(submission, "clip_by_norm", f32, 1.0, "float32")
    public.matches(submission, "clip_by_value", f32, 0.1, "float32, a small c")
    one = public.gradients(gen, [(6,)], 1.0)
    public.matches(submission, "clip_by_value", one, float(one[0].abs().max()), "c equal to the largest entry: nothing changes")
