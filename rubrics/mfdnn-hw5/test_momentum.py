"""Checks for `momentum` (mfdnn-hw5, Problem 3). torch.optim.SGD(momentum=beta) is the oracle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from grader import load_driver
from grader.checks import CheckFailed, Tolerance, all_faults, close_all, input_changes
from grader.fixtures import Generator, Submission

objective_grad = load_driver(Path(__file__).parent / "drivers" / "momentum.py").objective_grad

FORMS = {"heavy_ball": "heavy_ball (Form I)", "velocity_momentum": "velocity_momentum (Form II)"}


def problem(name: str, gen: torch.Generator, dtype: torch.dtype, n: int = 5) -> tuple[torch.Tensor, dict[str, torch.Tensor], float]:
    """theta0, the objective's data and a step size that keeps the iteration stable."""
    if name == "quadratic":
        M = torch.randn(n, n, generator=gen, dtype=dtype)
        Q = M @ M.T / n + 0.1 * torch.eye(n, dtype=dtype)
        return torch.randn(n, generator=gen, dtype=dtype), {"Q": Q, "b": torch.randn(n, generator=gen, dtype=dtype)}, 0.5 / float(torch.linalg.eigvalsh(Q).max())
    if name == "logistic":
        X = torch.randn(40, n, generator=gen, dtype=dtype)
        y = (torch.rand(40, generator=gen, dtype=dtype) < 0.5).to(dtype)
        return torch.randn(n, generator=gen, dtype=dtype), {"X": X, "y": y}, 0.5
    if name == "rosenbrock":
        return torch.rand(n, generator=gen, dtype=dtype) * 0.5, {"c": torch.tensor(2.0, dtype=dtype)}, 0.01
    if name == "least_squares":
        A = torch.randn(8, n, generator=gen, dtype=dtype) / 8**0.5
        return torch.randn(n, 3, generator=gen, dtype=dtype), {"A": A, "B": torch.randn(8, 3, generator=gen, dtype=dtype)}, 0.2
    raise ValueError(name)


def sgd_iterates(theta0: torch.Tensor, objective: str, params: dict[str, torch.Tensor], alpha: float, beta: float, num_steps: int) -> list[torch.Tensor]:
    """The iterates of torch.optim.SGD(lr=alpha, momentum=beta), by its own update, operation
    for operation (torch/optim/sgd.py, ``_single_tensor_sgd``, the path it takes on the CPU):
    the first step's buffer is a copy of the gradient, then ``buf.mul_(beta).add_(g)``, and
    ``p.add_(buf, alpha=-alpha)`` (beta = 0: the gradient itself). Written out because the
    optimizer's first use imports torch._dynamo, two seconds of every self-check;
    ``sgd_iterates_by_the_optimizer`` is the optimizer itself, and tests/unit/course/test_rubric.py
    shows the two equal, bit for bit."""
    grad = objective_grad(objective, params)
    p = theta0.clone()
    out = [p.clone()]
    buf: torch.Tensor | None = None
    for _ in range(num_steps):
        g = grad(p)
        if beta != 0:
            if buf is None:
                buf = g.detach().clone()
            else:
                buf.mul_(beta).add_(g, alpha=1)
            g = buf
        p.add_(g, alpha=-alpha)
        out.append(p.clone())
    return out


def sgd_iterates_by_the_optimizer(theta0: torch.Tensor, objective: str, params: dict[str, torch.Tensor], alpha: float,
                                  beta: float, num_steps: int) -> list[torch.Tensor]:
    """The same iterates from torch.optim.SGD itself (the homework's reference point)."""
    grad = objective_grad(objective, params)
    p = theta0.clone().requires_grad_()
    opt = torch.optim.SGD([p], lr=alpha, momentum=beta)
    out = [p.detach().clone()]
    for _ in range(num_steps):
        p.grad = grad(p.detach())
        opt.step()
        out.append(p.detach().clone())
    return out


def run(submission, form: str, theta0, objective: str, params, alpha: float, beta: float, num_steps: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    context = f"{form} on the {objective} objective ({str(theta0.dtype)[6:]}, theta of shape {tuple(theta0.shape)}, alpha = {alpha:.3g}, beta = {beta}, num_steps = {num_steps})"
    return submission.call("iterates", form=form, theta0=theta0, objective=objective, params=params, alpha=alpha, beta=beta,
                           num_steps=num_steps, context=context)


def tolerance(dtype: torch.dtype, scale: float) -> Tolerance:
    if dtype == torch.float64:
        return Tolerance(rtol=1e-9, atol=1e-11 * scale, why="float64: both compute the same recursion up to rounding")
    return Tolerance(rtol=1e-4, atol=1e-5 * scale, why="float32 rounding accumulates over the steps")


def matches_sgd(submission: Submission, generator: Generator, form: str, cases: list[tuple[str, torch.dtype, float, int]]) -> None:
    gen = generator(form)
    for objective, dtype, beta, steps in cases:
        theta0, params, alpha = problem(objective, gen, dtype)
        expected = sgd_iterates(theta0, objective, params, alpha, beta, steps)
        got = run(submission, form, theta0, objective, params, alpha, beta, steps)
        scale = max(float(t.abs().max()) for t in expected)
        close_all(
            got["iterates"] if got["count"] else [], expected,
            what=f"{FORMS[form]} vs torch.optim.SGD(lr={alpha:.3g}, momentum={beta}) on the {objective} objective, {str(dtype)[6:]}, {steps} steps",
            item="iterate theta^{i}", tol=tolerance(dtype, scale),
        )  # fmt: skip


PUBLIC = [
    ("quadratic", torch.float64, 0.9, 30),
    ("quadratic", torch.float32, 0.5, 30),
    ("logistic", torch.float64, 0.0, 20),
    ("rosenbrock", torch.float64, 0.9, 40),
    ("logistic", torch.float32, 0.9, 25),
]


def test_heavy_ball_matches_sgd(submission: Submission, generator: Generator) -> None:
    matches_sgd(submission, generator, "heavy_ball", PUBLIC)


def test_velocity_matches_sgd(submission: Submission, generator: Generator) -> None:
    matches_sgd(submission, generator, "velocity_momentum", PUBLIC)


def test_forms_agree(submission: Submission, generator: Generator) -> None:
    gen = generator()
    with all_faults() as faults:
        for objective, beta in (("quadratic", 0.9), ("rosenbrock", 0.5)):
            theta0, params, alpha = problem(objective, gen, torch.float64)
            got: dict[str, Any] = {}
            for form in FORMS:  # both run, whatever the other does: each one's fault is said
                with faults.part():
                    got[form] = run(submission, form, theta0, objective, params, alpha, beta, 30)
            if len(got) < len(FORMS):
                continue
            one, two = got["heavy_ball"], got["velocity_momentum"]
            with faults.part():
                if not two["count"]:
                    raise CheckFailed("velocity_momentum returned an empty list")
                scale = max(float(t.abs().max()) for t in two["iterates"])
                close_all(
                    one["iterates"] if one["count"] else [], two["iterates"],
                    what=f"heavy_ball vs velocity_momentum on the {objective} objective (beta = {beta}, float64); "
                    "the two forms are the same method, so their iterates must agree",
                    item="iterate theta^{i}", tol=Tolerance(rtol=1e-9, atol=1e-11 * scale, why="float64: the forms are equal in exact arithmetic"),
                )  # fmt: skip


def test_theta0_unchanged(submission: Submission, generator: Generator) -> None:
    """The form test (rubrics/README.md): theta0 untouched and every iterate a new tensor, for
    both forms, all said at once: one form's fault, or its error, never hides the other's.
    How many iterates there are is the value tests' to judge."""
    gen = generator()
    theta0, params, alpha = problem("quadratic", gen, torch.float64)
    with all_faults() as faults:
        for form in FORMS:
            with faults.part():
                got = run(submission, form, theta0, "quadratic", params, alpha, 0.9, 10)
                # decided here, from the theta0 the worker held from before the call (its own references)
                changed = input_changes({"theta0": theta0}, got["inputs"])
                faults.that(not changed, f"{form} modified theta0:\n  " + "\n  ".join(changed)
                            + "\nIt must leave its argument unchanged (work on a copy).")
                faults.that(not got["shares_theta0"], f"{form}: entries {got['shares_theta0']} of the returned list are "
                            "theta0 itself (or share its memory); return new tensors.")
                faults.that(not got["shared_pairs"], f"{form}: some returned iterates are the same tensor object or share "
                            "storage (an in-place update?); each must be a new tensor.")
