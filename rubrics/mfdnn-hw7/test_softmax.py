"""Checks for `softmax` (mfdnn-hw7): the soft maximum nu(x, beta) = log(sum exp(beta x)) / beta
and its gradient, the softmax of beta x. Runs on the trusted side. The oracle is torch's own
torch.logsumexp and torch.softmax, evaluated here in float64 on beta * x (every input below
keeps |beta x| far below float64's range); the limits are checked against their bounds,
0 <= nu - max(x) <= log(n) / beta and ||grad - one-hot||_1 <= 2 (n - 1) exp(-beta gap)."""

from __future__ import annotations

import math
from typing import Any

import torch

from grader.checks import CheckFailed, Faults, Tolerance, all_faults, as_shaped, close, that
from grader.fixtures import Generator, Submission


def oracle(x: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    z = beta * x.to(torch.float64)
    return torch.logsumexp(z, dim=-1) / beta, torch.softmax(z, dim=-1)


def describe(x: torch.Tensor, beta: float) -> str:
    return f"x of shape {tuple(x.shape)} ({str(x.dtype).removeprefix('torch.')}, |x| up to {float(x.abs().max()):.3g}), beta = {beta:g}"


def run(submission: Submission, x: torch.Tensor, beta: float, faults: Faults) -> dict[str, Any]:
    """nu and grad_nu at (x, beta), called directly (no driver), each on its own copy of x:
    what each returned ("nu", "grad") and what it did to x ("x_changes_nu", ...: read in the
    worker from its own hold on x from before the call, judged here). Each function is
    called whatever the other does; a fault of one is kept in ``faults`` and its keys left out."""
    where = f"on {describe(x, beta)}"
    out: dict[str, Any] = {}
    for key, fn in (("nu", "nu"), ("grad", "grad_nu")):
        with faults.part():
            called = submission.function(fn, context=where, inputs=True)(x, float(beta))
            if not isinstance(called.value, torch.Tensor):
                raise CheckFailed(f"On {where[3:]}: {fn}(x, beta) should return a tensor, got {type(called.value).__name__}")
            out[key], out[f"x_changes_{key}"] = called.value, called.changes(["x", "beta"])
    return out


def tolerances(x: torch.Tensor, beta: float) -> tuple[Tolerance, Tolerance]:
    """For nu, scaled to the size of its terms (max |x| and log(n) / beta); for the softmax, absolute."""
    scale = float(x.abs().max()) + math.log(x.shape[-1]) / beta
    if x.dtype == torch.float64:
        return (Tolerance(rtol=1e-10, atol=1e-12 * scale, why="float64: a stable log-sum-exp is exact up to rounding; atol scaled to max|x| + log(n)/beta"),
                Tolerance(rtol=1e-9, atol=1e-12, why="float64: a stable softmax is exact up to rounding"))
    return (Tolerance(rtol=1e-5, atol=1e-6 * scale, why="float32 rounding; atol scaled to max|x| + log(n)/beta"),
            Tolerance(rtol=1e-4, atol=1e-6, why="float32 rounding of beta * x before the exponential"))  # fmt: skip


def shaped(got: Any, expected: torch.Tensor) -> Any:
    """Values are compared here, shapes and dtypes in test_shapes_dtype_and_input: a result
    holding the right numbers in another shape (e.g. keepdim=True) is compared as that shape."""
    return as_shaped([got], [expected])[0]


def matches(submission: Submission, x: torch.Tensor, beta: float) -> None:
    """nu and grad_nu against the oracle, each said whatever the other does."""
    nu, grad = oracle(x, beta)
    tol_nu, tol_grad = tolerances(x, beta)
    where = describe(x, beta)
    with all_faults() as faults:
        got = run(submission, x, beta, faults)
        if "nu" in got:
            with faults.part():
                close(shaped(got["nu"], nu), nu, what=f"nu(x, beta) on {where}, against log(sum(exp(beta x))) / beta",
                      tol=tol_nu, check_dtype=False)
        if "grad" in got:
            with faults.part():
                close(shaped(got["grad"], grad), grad, what=f"grad_nu(x, beta) on {where}, against softmax(beta x)",
                      tol=tol_grad, check_dtype=False)


def spread(gen: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype, low: float, high: float, gap: float) -> torch.Tensor:
    """Random vectors in [low, high] whose largest entry is at least ``gap`` above the others."""
    x = low + (high - low - gap) * torch.rand(shape, generator=gen, dtype=torch.float64)
    top = torch.randint(0, shape[-1], shape[:-1] + (1,), generator=gen)
    x.scatter_(-1, top, x.amax(dim=-1, keepdim=True) + gap)
    return x.to(dtype)


def test_moderate_values(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for shape, beta in (((6,), 1.0), ((5, 8), 0.5), ((2, 3, 4), 2.5), ((3, 20), 1.0)):
        matches(submission, 3 * torch.randn(shape, generator=gen, dtype=torch.float64), beta)


def test_large_beta(submission: Submission, generator: Generator) -> None:
    """exp(beta x) overflows here: in float64 beyond exp(709), in float32 beyond exp(88).
    Ties and near ties at a huge beta too: there nu rounds to max(x) exactly, and a
    gradient computed as exp(beta (x - nu)) is 1 at every tied maximum, summing to 3 on
    [2, 5, 5, 1, 5] instead of 1; near ties one ulp apart, with beta = 1 / ulp, make
    beta x differ by 0, 1, 2, 3 (a softmax that is neither uniform nor one-hot)."""
    gen = generator()
    for dtype, betas in ((torch.float64, (300.0, 1e4, 1e8)), (torch.float32, (50.0, 1e3, 1e6))):
        for beta in betas:
            matches(submission, spread(gen, (4, 10), dtype, -5.0, 5.0, 0.1), beta)
    for dtype in (torch.float64, torch.float32):
        matches(submission, torch.tensor([2.0, 5.0, 5.0, 1.0, 5.0], dtype=dtype), 1e30)
        ulp = float(torch.finfo(dtype).eps) * 4  # the spacing of floats in [4, 8)
        near = torch.tensor([5.0 + k * ulp for k in (0, 3, 1, 2)], dtype=dtype)
        matches(submission, near, 1.0 / ulp)


def test_limits(submission: Submission, generator: Generator) -> None:
    """As beta grows, nu -> max(x) and grad_nu -> the one-hot vector of the (unique) maximum."""
    gen = generator()
    for dtype in (torch.float64, torch.float32):
        x = spread(gen, (12,), dtype, -3.0, 3.0, 0.05)
        x64 = x.to(torch.float64)
        m, top = float(x64.max()), int(x64.argmax())
        gap = m - float(x64.topk(2).values[1])
        n = x.numel()
        eps = torch.finfo(dtype).eps
        for beta in (1.0, 10.0, 1e2, 1e4, 1e8, 1e12):
            with all_faults() as faults:  # nu's and grad_nu's faults, each said whatever the other's
                got = run(submission, x, beta, faults)
                if "nu" in got:
                    nu = got["nu"]
                    with faults.part():
                        that(nu.numel() == 1, f"For a vector of {n} entries ({describe(x, beta)}), nu returned "
                             f"{nu.numel()} numbers (expected 1).")
                        value = float(nu.to(torch.float64).reshape(()))
                        slack = 8 * eps * (abs(m) + math.log(n) / beta)
                        that(math.isfinite(value) and -slack <= value - m <= math.log(n) / beta + slack,
                             f"On {describe(x, beta)}: nu = {value!r}, max(x) = {m!r}; nu - max(x) = {value - m:.3e} must lie in "
                             f"[0, log(n) / beta] = [0, {math.log(n) / beta:.3e}] (up to rounding, {slack:.1e}): nu -> max(x) as beta grows.")
                if "grad" in got:
                    grad = got["grad"]
                    with faults.part():
                        that(grad.numel() == n, f"For a vector of {n} entries ({describe(x, beta)}), grad_nu returned "
                             f"{grad.numel()} numbers (expected {n}).")
                        g = grad.to(torch.float64).reshape(n)
                        one_hot = torch.zeros(n, dtype=torch.float64)
                        one_hot[top] = 1.0
                        l1 = float((g - one_hot).abs().sum())
                        bound = 2 * (n - 1) * math.exp(-beta * gap) + 8 * n * eps
                        that(math.isfinite(l1) and l1 <= bound,
                             f"On {describe(x, beta)}, whose largest entry x[{top}] is {gap:.3g} above the next: "
                             f"||grad_nu - e_{top}||_1 = {l1:.3e}, but it is at most 2 (n - 1) exp(-beta * {gap:.3g}) = {bound:.3e} "
                             f"(grad_nu -> the one-hot vector of the maximum as beta grows). grad_nu gave {g.tolist()[:12]}.")


def test_shapes_dtype_and_input(submission: Submission, generator: Generator) -> None:
    """The form test: shapes, dtypes and x left as it was, for both functions; every fault said at once."""
    gen = generator()
    with all_faults() as faults:
        for shape, dtype in (((7,), torch.float64), ((4, 7), torch.float32), ((2, 3, 5), torch.float64), ((3, 1, 6), torch.float32)):
            x = torch.randn(shape, generator=gen, dtype=dtype)
            got = run(submission, x, 2.0, faults)
            for key, name, want in (("nu", "nu", shape[:-1]), ("grad", "grad_nu", shape)):
                if key not in got:
                    continue
                t = got[key]
                faults.that(tuple(t.shape) == want, f"For x of shape {shape}, {name} should return shape {want} "
                            f"({'x.shape[:-1]: one number per vector x[..., :]' if name == 'nu' else 'x.shape'}); got {tuple(t.shape)}.")
                faults.that(t.dtype == dtype, f"For a {str(dtype)[6:]} x, {name} returned {str(t.dtype)[6:]}: return x's dtype.")
                # decided here, from x as the worker held it from before the call (its own references)
                changed = got[f"x_changes_{key}"]
                faults.that(not changed, f"{name} modified x:\n  " + "\n  ".join(changed) + "\nLeave x unchanged "
                            "(x - m makes a new tensor; x -= m or x.sub_(m) overwrites the caller's).")
