"""Public checks of `logsumexp` (hw1): released to students by `grader release`.

The student writes ``logsumexp(x, dim)``: log(sum(exp(x))) along ``dim``, with ``dim`` removed
from the shape (keepdim=False), in ``x``'s dtype, without overflowing where exp(x) does
(float32 beyond exp(88), float64 beyond exp(709)).

The student's function is called by name in the worker, with plain arguments, and its
answer comes back as plain data (no driver needed): ``submission.function("logsumexp")``.
The oracle is ``torch.logsumexp``, evaluated here on the trusted side in float64 on the very
inputs the student got (upcast exactly), so the tolerance only has to cover the student's
own rounding in the input's dtype.

How the points split (rubrics/README.md, "Right numbers, right form"): the value tests
compare values whatever shape and dtype they came in (a keepdim=True result holding the
right numbers is reshaped first, a float64 answer to a float32 input is compared in
float64); the one form test, test_shape_and_dtype, grades the shape and dtype. The source
test grades that the function is the student's own, not torch's.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import CheckFailed, Tolerance, all_faults, as_shaped, close, mentions, that
from grader.fixtures import Generator, Submission


def oracle(x: torch.Tensor, dim: int) -> torch.Tensor:
    """What logsumexp(x, dim) must return, in float64 (torch's own stable log-sum-exp)."""
    return torch.logsumexp(x.to(torch.float64), dim=dim)


def describe(x: torch.Tensor) -> str:
    """The inputs as the student reads them: shape, dtype and range."""
    return (f"x of shape {tuple(x.shape)} ({str(x.dtype).removeprefix('torch.')}, "
            f"entries in [{float(x.min()):.4g}, {float(x.max()):.4g}])")


def call(submission: Submission, x: torch.Tensor, dim: int) -> Any:
    """The student's logsumexp(x, dim=dim), run in the worker; what it returned, as plain data."""
    return submission.function("logsumexp", context=f"logsumexp(x, dim={dim}) on {describe(x)}")(x, dim=dim)


def matches(submission: Submission, x: torch.Tensor, dim: int) -> None:
    """The student's logsumexp(x, dim) against the oracle: values only (the form test grades shape and dtype)."""
    expected = oracle(x, dim)
    got = as_shaped([call(submission, x, dim)], [expected])[0]  # e.g. (n, 1) from keepdim=True, read as (n,)
    close(got, expected, what=f"logsumexp(x, dim={dim}) on {describe(x)}, against torch.logsumexp",
          tol=Tolerance.default(x.dtype, why=f"{str(x.dtype).removeprefix('torch.')} rounding of exp, sum and log, "
                                f"against the exact (float64) value: torch.testing.assert_close's default"),
          check_dtype=False)  # fmt: skip


def large(gen: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype, centre: float) -> torch.Tensor:
    """Entries within a few units of ``centre``: at +1000 exp(x) is inf in float32 and in float64,
    at -1000 it is 0 in both, so only a shifted (stable) computation gives a finite answer."""
    return (centre + 3 * torch.randn(shape, generator=gen, dtype=torch.float64)).to(dtype)


def test_small_float32(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for shape in ((4, 3), (2, 6)):
        x = torch.randn(shape, generator=gen)
        for dim in (0, 1):
            matches(submission, x, dim)


def test_small_float64(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for shape in ((5, 7), (3, 1)):
        x = 2 * torch.randn(shape, generator=gen, dtype=torch.float64)
        for dim in (0, 1):
            matches(submission, x, dim)


def test_large_values(submission: Submission, generator: Generator) -> None:
    """Public on purpose: the homework asks for stability in so many words, so students should
    see before the deadline whether theirs overflows (the hidden test repeats it at -1000)."""
    gen = generator()
    for dtype in (torch.float32, torch.float64):
        x = large(gen, (4, 5), dtype, 1000.0)
        for dim in (0, 1):
            matches(submission, x, dim)


def test_shape_and_dtype(submission: Submission, generator: Generator) -> None:
    """The form test: ``dim`` removed from the shape (keepdim=False), the input's dtype kept.
    Every case is said at once."""
    gen = generator()
    wrong = []
    for dtype, shape, dim in ((torch.float32, (4, 3), 0), (torch.float64, (4, 3), 1), (torch.float32, (2, 3, 5), 1)):
        x = torch.randn(shape, generator=gen, dtype=dtype)
        got = call(submission, x, dim)
        want = tuple(s for i, s in enumerate(shape) if i != dim)
        name = f"logsumexp(x, dim={dim}) for x of shape {shape} ({str(dtype).removeprefix('torch.')})"
        if not isinstance(got, torch.Tensor):
            wrong.append(f"{name} returned a {type(got).__name__}, not a tensor")
            continue
        if tuple(got.shape) != want:
            wrong.append(f"{name} has shape {tuple(got.shape)}; expected {want} "
                         f"(dim {dim} removed, as with keepdim=False)")
        if got.dtype != dtype:
            wrong.append(f"{name} has dtype {str(got.dtype).removeprefix('torch.')}; expected the input's, "
                         f"{str(dtype).removeprefix('torch.')}")
    if wrong:
        raise CheckFailed("\n".join(wrong))


def test_own_code(submission: Submission, generator: Generator) -> None:
    """The function must run (the template's NotImplementedError fails here too), and its source,
    read here on the trusted side, must not call a ready-made log-sum-exp (torch.logsumexp,
    torch.special.logsumexp, Tensor.logsumexp, scipy's), nor reach names in ways the source
    does not spell (getattr, eval, importlib...: ``dynamic=True``). Values are graded elsewhere."""
    with all_faults() as faults:  # both said, whatever the other
        with faults.part():
            call(submission, torch.randn(3, 4, generator=generator()), 1)
        said = mentions(submission.source(), {"logsumexp", "LogSumExp"}, dynamic=True)
        faults.that(not said, "logsumexp.py calls a ready-made log-sum-exp, or reaches names in a way that would hide one "
                    f"({'; '.join(said[:6])}{'; ...' if len(said) > 6 else ''}). The homework asks you to write it "
                    "yourself from torch.exp, torch.log, sum and max.")
