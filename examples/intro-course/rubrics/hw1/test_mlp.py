"""Public checks of `mlp` (hw1): released to students by `grader release`.

The student writes ``Model(d_in, d_out)``: fc1 = nn.Linear(d_in, 32), a ReLU, then
fc2 = nn.Linear(32, d_out). The network is built and run by the driver (drivers/mlp.py) in
the worker; the checks compare what it reports with the oracle's, here on the trusted side.

The value tests give the student's network weights made here (``weights``), loaded with
``load_state_dict``, and compare its output with the same MLP written out with
torch.nn.functional in float64 (``oracle``). The parameter count and the output shape are
tests of their own, on the student's own initialisation, so a network of the wrong size
still gets the points for what it has right.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from grader.checks import CheckFailed, Tolerance, as_shaped, close, that
from grader.fixtures import Generator, Submission

HIDDEN = 32  # the homework's hidden width


def weights(gen: torch.Generator, d_in: int, d_out: int, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """A state dict of the homework's network, drawn as nn.Linear draws its own
    (uniform in +-1/sqrt(fan_in)), so outputs are of order 1."""
    def uniform(*shape: int, fan_in: int) -> torch.Tensor:
        return ((2 * torch.rand(shape, generator=gen, dtype=torch.float64) - 1) / math.sqrt(fan_in)).to(dtype)

    return {"fc1.weight": uniform(HIDDEN, d_in, fan_in=d_in), "fc1.bias": uniform(HIDDEN, fan_in=d_in),
            "fc2.weight": uniform(d_out, HIDDEN, fan_in=HIDDEN), "fc2.bias": uniform(d_out, fan_in=HIDDEN)}


def oracle(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """What Model(d_in, d_out) holding ``state`` must return on x, in float64."""
    w = {k: v.to(torch.float64) for k, v in state.items()}
    h = F.relu(F.linear(x.to(torch.float64), w["fc1.weight"], w["fc1.bias"]))
    return F.linear(h, w["fc2.weight"], w["fc2.bias"])


def oracle_parameters(d_in: int, d_out: int) -> int:
    """How many parameters Model(d_in, d_out) has: two weight matrices and two bias vectors."""
    return HIDDEN * d_in + HIDDEN + d_out * HIDDEN + d_out


def tolerance(dtype: torch.dtype) -> Tolerance:
    """The student's forward pass against the exact (float64) one on the same weights and input."""
    if dtype == torch.float64:
        return Tolerance.default(dtype, why="float64: the same two matrix products, summed in another order at most")
    # Each output sums d_in + 32 products of order-1 terms rounded in float32 (2^-24 ~ 6e-8 each):
    # at most ~100 * 6e-8 = 6e-6 off in the worst case, typically far less; 1e-5 leaves room.
    return Tolerance(rtol=1e-5, atol=1e-5, why="float32 rounding of two matrix products of up to 64 terms, "
                     "against the same network in float64")


def run(submission: Submission, d_in: int, d_out: int, x: torch.Tensor,
        state: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    given = "with the grader's weights" if state is not None else "with its own initialisation"
    context = (f"Model({d_in}, {d_out}) {given}, on x of shape {tuple(x.shape)} "
               f"({str(x.dtype).removeprefix('torch.')})")
    return submission.call("build_and_run", d_in=d_in, d_out=d_out, x=x, state=state, context=context)


def output_matches(submission: Submission, gen: torch.Generator, d_in: int, d_out: int, dtype: torch.dtype,
                   n: int = 8) -> None:
    """The student's output, with the grader's weights, against the oracle's: values only
    (an output of another shape holding the right numbers is reshaped; shape is test_output_shape's)."""
    state = weights(gen, d_in, d_out, dtype)
    x = torch.randn(n, d_in, generator=gen, dtype=dtype)
    expected = oracle(state, x)
    out = run(submission, d_in, d_out, x, state)["out"]
    close(as_shaped([out], [expected])[0], expected, tol=tolerance(dtype), check_dtype=False,
          what=f"Model({d_in}, {d_out})(x) with the grader's weights, x of shape {(n, d_in)} "
               f"({str(dtype).removeprefix('torch.')}), against fc2(relu(fc1(x)))",
          index_names=("sample", "output"))  # fmt: skip


def has_parameter_count(submission: Submission, gen: torch.Generator, d_in: int, d_out: int) -> None:
    got = run(submission, d_in, d_out, torch.randn(2, d_in, generator=gen))["parameters"]
    want = oracle_parameters(d_in, d_out)
    that(got == want, f"Model({d_in}, {d_out}) has {got:,} parameters; expected {want:,} "
         f"(fc1: {HIDDEN} x {d_in} weights + {HIDDEN} biases, fc2: {d_out} x {HIDDEN} weights + {d_out} biases)")


def has_output_shape(submission: Submission, gen: torch.Generator, d_in: int, d_out: int, n: int = 6) -> None:
    out = run(submission, d_in, d_out, torch.randn(n, d_in, generator=gen))["out"]
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"Model({d_in}, {d_out})(x) should return a tensor, got {type(out).__name__}")
    that(tuple(out.shape) == (n, d_out), f"Model({d_in}, {d_out})(x) for x of shape {(n, d_in)} has shape "
         f"{tuple(out.shape)}; expected {(n, d_out)}: one row of d_out outputs per sample")


def test_output_float64(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for d_in, d_out in ((5, 3), (10, 4)):
        output_matches(submission, gen, d_in, d_out, torch.float64)


def test_output_float32(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for d_in, d_out in ((5, 3), (16, 2)):
        output_matches(submission, gen, d_in, d_out, torch.float32)


def test_parameter_count(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for d_in, d_out in ((5, 3), (10, 4)):
        has_parameter_count(submission, gen, d_in, d_out)


def test_output_shape(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for d_in, d_out in ((5, 3), (4, 1)):  # d_out = 1 too: the output is (n, 1), not (n,)
        has_output_shape(submission, gen, d_in, d_out)
