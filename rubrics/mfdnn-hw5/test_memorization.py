"""Checks for `memorization` (mfdnn-hw5): a network fits random labels. Graded where student
code runs on a CUDA GPU (rubric: needs = "cuda"); elsewhere the grader reports every test as
skipped with the reason, unless the instructor asks for the CPU anyway, which grades the
same checks on a smaller set."""

from __future__ import annotations

import torch

from grader.checks import CheckFailed, all_faults, input_changes, that
from grader.fixtures import Generator, Submission

REQUIRED = 0.95
SIZES = (8_000, 2_048)  # how many images: on a CUDA GPU, on the CPU


def data(gen: torch.Generator, device: str, sizes: tuple[int, int] = SIZES) -> tuple[torch.Tensor, torch.Tensor]:
    on_gpu = device.startswith("cuda")
    n = sizes[0] if on_gpu else sizes[1]
    return torch.rand(n, 3, 32, 32, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def trained(submission: Submission, images: torch.Tensor, labels: torch.Tensor) -> dict:
    return submission.call("memorize", images=images, labels=labels, context=f"memorize on {len(labels)} images with random labels")


def fits(submission: Submission, gen: torch.Generator, device: str, sizes: tuple[int, int] = SIZES) -> None:
    images, labels = data(gen, device, sizes)
    got = trained(submission, images, labels)
    predictions = got["predictions"]
    that(isinstance(predictions, torch.Tensor) and predictions.shape == labels.shape, "the model's predictions have the wrong shape")
    right = int((predictions == labels).sum())
    if right < REQUIRED * len(labels):
        raise CheckFailed(
            f"After training on {len(labels)} images with random labels, the model (in eval mode) gets {right} of them right "
            f"({right / len(labels):.1%}); at least {REQUIRED:.0%} is required. Chance is 10%: train longer, with a larger "
            f"network or a larger step, until the training accuracy is close to 100%.")


def test_memorizes_random_labels(submission: Submission, generator: Generator, device: str) -> None:
    fits(submission, generator(), device)


def test_inputs_unchanged_and_model_on_device(submission: Submission, generator: Generator, device: str) -> None:
    images, labels = data(generator(), device)
    got = trained(submission, images, labels)
    with all_faults() as faults:  # both said, whatever the other
        # decided here, from the images and labels the worker held from before the call (its own references)
        changed = input_changes({"images": images, "labels": labels}, got["inputs"])
        faults.that(not changed, "memorize changed its inputs:\n  " + "\n  ".join(changed) + "\nWork on a copy "
                    "(e.g. images.to(device) is the same tensor when it is already there).")
        want = torch.device(device).type
        faults.that(got["devices"] == [want], f"The returned model's parameters are on {', '.join(got['devices'])}; "
                    f"train on {want} and return the model there.")
