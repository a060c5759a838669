"""Checks for `lnin` (mfdnn-hw7, Problem 5). The grader's own Net1 is the oracle; both sides
build it from the run's seed with the same code (drivers/lnin.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from grader import load_driver
from grader.checks import Tolerance, all_faults, close, note, speed_ratio, that
from grader.fixtures import Generator, Submission

seeded_net1 = load_driver(Path(__file__).parent / "drivers" / "lnin.py").seeded_net1

F64 = Tolerance(rtol=1e-10, atol=1e-12, why="float64: a Linear layer and the Conv2d it becomes compute the same sums")
F32 = Tolerance(rtol=1e-4, atol=1e-4, why="float32: sums of 82944 products in a different order; atol scaled to the largest output")


@pytest.fixture(scope="session")
def net1_seed(seed: int) -> int:
    return seed % (2**31) + 1


@pytest.fixture(scope="session")
def net1(template, net1_seed):  # type: ignore[no-untyped-def]
    """The grader's Net1 (float32), built once per batch."""
    return seeded_net1(template("lnin"), net1_seed, 10, torch.float32, "cpu")


@pytest.fixture(scope="session")
def inputs_32x32(seed: int) -> torch.Tensor:
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed + 32), dtype=torch.float64)


@pytest.fixture(scope="session")
def expected_32x32(template, net1_seed, inputs_32x32):  # type: ignore[no-untyped-def]
    """net1(x) in float64, once per batch (a float64 Net1 is 2.7 GB: built, used, dropped)."""
    with torch.no_grad():
        return seeded_net1(template("lnin"), net1_seed, 10, torch.float64, "cpu")(inputs_32x32)


def windows(images: torch.Tensor) -> list[tuple[int, int, torch.Tensor]]:
    """Every 32x32 window of ``images`` as (row i, column j, images[:, :, i:i+32, j:j+32]), row by row."""
    h, w = images.shape[-2:]
    return [(i, j, images[:, :, i:i + 32, j:j + 32]) for i in range(h - 31) for j in range(w - 31)]


def scaled(tol: Tolerance, expected: torch.Tensor) -> Tolerance:
    return Tolerance(rtol=tol.rtol, atol=tol.atol * float(expected.abs().max()), why=tol.why)


def test_output_shape(submission: Submission, generator: Generator) -> None:
    sizes = [[2, 3, 32, 32], [2, 3, 33, 40]]
    got = submission.call("shapes", num_classes=7, sizes=sizes, context=f"Net2(num_classes=7) on inputs of shapes {sizes}")
    for (b, _, h, w), shape in zip(sizes, got["shapes"]):
        that(list(shape) == [b, 7, h - 31, w - 31],
             f"Net2(num_classes=7) on input of shape {(b, 3, h, w)} returned shape {tuple(shape)}; "
             f"expected {(b, 7, h - 31, w - 31)} = (B, num_classes, h - 31, w - 31).")


def test_no_linear(submission: Submission) -> None:
    """Net2's classifier is made of convolutions only: every fault said at once."""
    got = submission.call("structure")
    with all_faults() as faults:
        faults.that(not got["linear"], f"Net2 holds Linear layers ({', '.join(got['linear'])}); its classifier must use only "
                    "Conv2d and ReLU.")
        faults.that(got["classifier"] is not None, "Net2 has no `classifier` module.")
        allowed = {"torch.nn.modules.conv.Conv2d", "torch.nn.modules.activation.ReLU", "torch.nn.modules.container.Sequential"}
        other = [f"{name} ({kind})" for name, kind in got["classifier"] or [] if kind not in allowed]
        faults.that(not other, f"Net2's classifier holds modules other than Conv2d and ReLU: {', '.join(other)}.")
        faults.that(got["classifier"] is None or any(kind.endswith("Conv2d") for _, kind in got["classifier"]),
                    "Net2's classifier has no Conv2d.")
        flat = [f"{name} ({dim}-D)" for name, dim in got["classifier_param_dims"] if dim not in (1, 4)]
        faults.that(not flat, f"Net2's classifier has parameters that are not convolution weights or biases: {', '.join(flat)}.")


def test_equal_32x32(submission, net1_seed, inputs_32x32, expected_32x32):  # type: ignore[no-untyped-def]
    got = submission.call("equal", seed=net1_seed, x=inputs_32x32, dtype="float64",
                          context="copy_weights_from(net1), then Net2 on (2, 3, 32, 32) inputs in float64")["out"]
    that(tuple(got.shape) == (2, 10, 1, 1), f"Net2 on a (2, 3, 32, 32) input returned shape {tuple(got.shape)}; expected (2, 10, 1, 1).")
    close(got.flatten(1), expected_32x32, what="Net2(x) after copy_weights_from(net1) vs net1(x) on 32x32 inputs, float64",
          tol=scaled(F64, expected_32x32), index_names=("sample", "class"))


def test_net1_patch(submission: Submission, generator: Generator) -> None:
    images = torch.randn(2, 3, 37, 34, generator=generator())
    got = submission.call("patches", images=images)["patches"]
    all_windows = windows(images)
    that(tuple(got.shape) == (len(all_windows), 2, 3, 32, 32), f"expected {len(all_windows)} patches, got {got.shape[0]}")
    for k, (i, j, window) in enumerate(all_windows):
        if not torch.equal(got[k], window):
            match = [(a, b) for a, b, other in all_windows if torch.equal(got[k], other)]
            hint = f" (it is the window at i={match[0][0]}, j={match[0][1]})" if match else ""
            that(False, f"net1_patch(images, {i}, {j}) on images of shape {tuple(images.shape)} is not the 32x32 window "
                 f"whose top-left corner is row {i}, column {j}{hint}.")


CHECKED_LOCATIONS = 8  # of each timed answer's 17 x 17, drawn here after it came back


def test_faster_than_sliding(submission, baseline, net1, net1_seed, generator):  # type: ignore[no-untyped-def]
    gen, where = generator(), generator("locations")
    locations = 17 * 17

    def right(out: Any, images: torch.Tensor) -> None:
        """A timed answer is Net2's output: its shape, and net1 itself on windows drawn at random
        (the student's code cannot know which: all 289 would cost 7 s of Net1 per round)."""
        that(isinstance(out, torch.Tensor) and tuple(out.shape) == (1, 10, 17, 17),
             f"Net2 on a (1, 3, 48, 48) image returned {tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}; "
             "expected shape (1, 10, 17, 17).")
        picks = torch.randperm(locations, generator=where)[:CHECKED_LOCATIONS].tolist()
        at = [(k // 17, k % 17) for k in picks]
        with torch.no_grad():
            expected = net1(torch.cat([images[:, :, i:i + 32, j:j + 32] for i, j in at]))
        got = torch.stack([out[0, :, i, j] for i, j in at])
        close(got, expected, what=f"Net2 on a timed 48x48 image vs net1 on the windows at (row, column) {at}, float32",
              tol=scaled(F32, expected), index_names=("window", "class"))

    # The baseline slides Net1 over 8 windows per round (about 0.2 s on 2 cores: long enough
    # for a steady per-window time). It runs every round for every student, so it is pure
    # grading overhead: 32 windows cost 2.4 s per student for no better a verdict.
    timing = speed_ratio(
        submission, baseline, "net2_forward", baseline_fn="sliding_net1",
        values={"seed": net1_seed}, baseline_values={"seed": net1_seed, "count": 8},
        inputs=lambda: torch.randn(1, 3, 48, 48, generator=gen), check=right,
        units=locations, baseline_units=8, rounds=3, give_up=1.0, limit=0.5,
    )  # fmt: skip
    note(timing.describe("Net2 per output location", "Net1 per 32x32 window"))
    that(timing.ratio <= 0.5,
         "Net2 is not much faster than sliding Net1 over the windows of a 48x48 image: "
         + timing.describe("Net2 per output location", "Net1 per 32x32 window")
         + ". Expected a ratio of at most 0.5: Net2 should run its convolutions once over the whole image, not once per window.")
