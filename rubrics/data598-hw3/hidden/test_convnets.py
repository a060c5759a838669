"""Hidden checks for `convnets` (Data 598, Homework 3): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

from pathlib import Path

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def uneven_batch_size(data_dir: Path | None) -> int:
    """A batch size that leaves a last batch smaller than the others, for the images
    ``public.data`` gives (their number does not depend on the seed)."""
    n = len(public.fashion_mnist(Path(data_dir))[1]) if data_dir is not None else public.N_FAKE
    return next(b for b in (96, 100, 72, 60, 56) if n % b)


def test_hidden_cases(submission: Submission, generator: Generator, data_dir: Path | None) -> None:
    gen = generator()
    public.value_matches(submission, public.smoothness_case(gen, data_dir, "convnet_bn", batch_size=uneven_batch_size(data_dir)))
    public.value_matches(submission, public.smoothness_case(gen, data_dir, "convnet", training=False, lr=0.05))
    public.value_matches(submission, public.smoothness_case(gen, data_dir, "strided", label_smoothing=0.1, lr=0.2))
    public.value_matches(submission, public.smoothness_case(gen, data_dir, "convnet_bn", dtype=torch.float32, batch_size=128))


def test_hidden_flat_norm(submission: Submission, generator: Generator) -> None:
    gen = generator()
    public.norm_matches(submission, [torch.randn(50, generator=gen), 4 * torch.randn(3, 3, generator=gen)], "float32, a tuple", as_tuple=True)
    public.norm_matches(submission, [torch.tensor(-2.5, dtype=torch.float64)], "one 0-dimensional tensor")
