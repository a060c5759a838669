"""Checks for `bn_remove` (mfdnn-hw7, Problem 3). The grader's own copy of the given
networks, run here on the trusted side, is the oracle: train_net.eval()."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from grader.checks import CheckFailed, Tolerance, all_faults, close, input_changes, note, speed_ratio, that
from grader.fixtures import Assignment

BATCH = 256
F32 = Tolerance(rtol=1e-4, atol=1e-5, why="float32: folding changes the order of roundings; atol scaled to the largest logit")
F64 = Tolerance(rtol=1e-10, atol=1e-12, why="float64: folding BatchNorm is exact up to rounding")
INDEX = ("sample", "class")


@pytest.fixture(scope="session")
def checkpoint(assignment: Assignment) -> dict[str, torch.Tensor]:
    return torch.load(assignment.template_dir / "smallNetSaved", weights_only=True)


def reference_logits(given: Any, state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    net = given.smallNetTrain()
    net.load_state_dict(state, strict=True)
    net = net.to(x.dtype).eval()
    with torch.no_grad():
        return net(x)


def scaled(tol: Tolerance, expected: torch.Tensor) -> Tolerance:
    return Tolerance(rtol=tol.rtol, atol=tol.atol * float(expected.abs().max()), why=tol.why)


def check_fold(submission, given, state, x: torch.Tensor, tol: Tolerance, what: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    expected = reference_logits(given, state, x)
    got = submission.call("fold", state=state, x=x, dtype=str(x.dtype).removeprefix("torch."), context=what.replace("logits of ", "computing "))
    close(got["out"], expected, what=what, tol=scaled(tol, expected), index_names=INDEX)
    return got


def test_checkpoint_float32(submission, given, checkpoint, generator):  # type: ignore[no-untyped-def]
    x = torch.randn(BATCH, 3, 32, 32, generator=generator())
    check_fold(submission, given, checkpoint, x, F32,
               f"logits of remove_bn(train_net) vs train_net.eval() on the shipped checkpoint, {BATCH} random inputs, float32")


def test_checkpoint_float64(submission, given, checkpoint, generator):  # type: ignore[no-untyped-def]
    x = torch.randn(BATCH, 3, 32, 32, generator=generator(), dtype=torch.float64)
    state = {k: v.double() if v.is_floating_point() else v for k, v in checkpoint.items()}
    check_fold(submission, given, state, x, F64,
               f"logits of remove_bn(train_net) vs train_net.eval() on the shipped checkpoint, {BATCH} random inputs, float64")


def test_no_batchnorm(submission, given, checkpoint, generator):  # type: ignore[no-untyped-def]
    """What remove_bn returns is a smallNetTest without BatchNorm whose outputs come from its
    weights: each of these said, whatever the others."""
    x = torch.randn(64, 3, 32, 32, generator=generator())
    got = submission.call("fold", state=checkpoint, x=x, dtype="float32")
    with all_faults() as faults:
        faults.that(got["is_small_net_test"], f"remove_bn returned a {got['type']}; it must return a new smallNetTest.")
        faults.that(not got["batchnorm"], f"the network remove_bn returned still holds BatchNorm modules: {', '.join(got['batchnorm'])}.")
        # The grader loads the returned weights into its own smallNetTest: everything the returned
        # network computes must come from those weights (no hidden state, no BatchNorm math in forward).
        with faults.part():
            net = given.smallNetTest()
            state = got["state"] if isinstance(got["state"], dict) else {}
            try:
                net.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise CheckFailed(f"the weights of the returned network do not fit smallNetTest: {exc}") from None
            with torch.no_grad():
                logits = net.eval()(x)
            close(got["out"], logits, what="logits of the network remove_bn returned vs the grader's own smallNetTest "
                  "holding that network's weights, float32", tol=scaled(F32, logits), index_names=INDEX)


def test_input_untouched(submission, checkpoint, generator):  # type: ignore[no-untyped-def]
    x = torch.randn(8, 3, 32, 32, generator=generator())
    got = submission.call("fold", state=checkpoint, x=x, dtype="float32")
    # decided here, from train_net's tensors as the worker held them from before the call (its own references)
    sent = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in checkpoint.items()}
    changed = input_changes({"train_net": sent}, got["inputs"])
    that(not changed, "remove_bn changed its argument:\n  " + "\n  ".join(changed) +
         "\nBuild the new network from copies and leave train_net as it was.")


def test_not_slower(submission, baseline, given, checkpoint, generator):  # type: ignore[no-untyped-def]
    gen = generator()
    reference = given.smallNetTrain()
    reference.load_state_dict(checkpoint, strict=True)
    reference.eval()

    def right(out: Any, x: torch.Tensor) -> None:  # every timed answer, as test_checkpoint_float32 checks one
        with torch.no_grad():
            expected = reference(x)
        close(out, expected, what=f"logits of remove_bn(train_net) vs train_net.eval() on a timed batch of {BATCH}, float32",
              tol=scaled(F32, expected), index_names=INDEX)

    timing = speed_ratio(submission, baseline, "folded_forward", baseline_fn="train_forward", values={"state": checkpoint},
                         inputs=lambda: torch.randn(BATCH, 3, 32, 32, generator=gen), check=right,
                         rounds=5, repeat=5, give_up=3.0, limit=1.5, threads=1)  # fmt: skip
    note(timing.describe("remove_bn(train_net) on a batch of 256", "train_net.eval()"))
    that(timing.ratio <= 1.5,
         "The network remove_bn returned is slower than the original in eval mode: "
         + timing.describe("remove_bn(train_net) on a batch of 256", "train_net.eval()")
         + ". Allowed: at most 1.5 (folding removes work; the margin absorbs the noise of a shared machine).")
