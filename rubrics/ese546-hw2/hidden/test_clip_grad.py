"""Hidden checks for `clip_grad` (ESE 546, Homework 2): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.checks import all_faults
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def test_hidden_cases(submission: Submission, generator: Generator) -> None:
    """Every case is checked and every wrong one said: clip_by_norm's fault never hides clip_by_value's."""
    gen = generator()
    many = public.gradients(gen, [(50,)] * 10 + [(3, 3)], 0.3)
    total = float(torch.sqrt(sum((g ** 2).sum() for g in many)))
    f32 = public.gradients(gen, public.SHAPES, 5.0, torch.float32)
    one = public.gradients(gen, [(6,)], 1.0)
    cases = [
        ("clip_by_norm", many, total / 10, "eleven tensors: the norm is over all of them, not each alone"),
        ("clip_by_norm", [torch.zeros(4, dtype=torch.float64)], 1.0, "a zero gradient stays zero"),
        ("clip_by_norm", f32, 1.0, "float32"),
        ("clip_by_value", f32, 0.1, "float32, a small c"),
        ("clip_by_value", one, float(one[0].abs().max()), "c equal to the largest entry: nothing changes"),
    ]
    with all_faults() as faults:
        for fn, grads, c, why in cases:
            with faults.part():
                public.matches(submission, fn, grads, c, why)
