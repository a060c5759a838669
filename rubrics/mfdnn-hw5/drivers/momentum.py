"""Worker-side driver for `momentum`; also imported on the trusted side for the objectives,
so the gradient the student's code is given and the one the oracle uses are the same code."""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.driver import WrongAnswer, keep


def objective_grad(name: str, params: dict[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The gradient of one of the test objectives, as a function of theta."""
    if name == "quadratic":  # f = theta^T Q theta / 2 - b^T theta
        Q, b = params["Q"], params["b"]
        return lambda th: Q @ th - b
    if name == "logistic":  # mean logistic loss of labels y in {0, 1} on features X
        X, y = params["X"], params["y"]
        return lambda th: X.T @ (torch.sigmoid(X @ th) - y) / X.shape[0]
    if name == "rosenbrock":  # sum_i (1 - x_i)^2 + c (x_{i+1} - x_i^2)^2
        c = params["c"]

        def grad(th: torch.Tensor) -> torch.Tensor:
            g = -2 * (1 - th)
            d = th[1:] - th[:-1] ** 2
            g = g.clone()
            g[:-1] += -4 * c * d * th[:-1]
            g[1:] += 2 * c * d
            return g

        return grad
    if name == "least_squares":  # f = ||A W - B||_F^2 / 2 with a matrix-shaped W
        A, B = params["A"], params["B"]
        return lambda W: A.T @ (A @ W - B)
    raise ValueError(f"unknown objective {name!r}")


def iterates(student: Any, form: str, theta0: torch.Tensor, objective: str, params: dict[str, torch.Tensor],
             alpha: float, beta: float, num_steps: int, device: str) -> dict[str, Any]:
    theta0 = theta0.to(device)
    params = {k: v.to(device) for k, v in params.items()}
    grad = objective_grad(objective, params)
    calls = [0]

    def grad_fn(theta: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        return grad(theta)

    kept = keep(theta0=theta0)  # held before the call: what it did to theta0 is read from here
    out = getattr(student, form)(theta0, grad_fn, alpha, beta, num_steps)
    if not isinstance(out, (list, tuple)):
        raise WrongAnswer(f"{form} should return a list of tensors, got {type(out).__name__}")
    # One read: the copy, where each entry's storage was, and which entries are theta0 (or share
    # its memory) come from the same look at the list (a list subclass cannot show the aliasing
    # check one thing and the encoder another).
    out, ptrs, shares = kept.returned(out, f"what {form} returned")
    for k, t in enumerate(out):
        if not isinstance(t, torch.Tensor):
            raise WrongAnswer(f"{form} returned a list whose entry {k} is a {type(t).__name__}, not a tensor")
    return {
        "iterates": list(out) if out else [],
        "count": len(out),
        "inputs": kept.after(),  # compared on the trusted side with the theta0 it sent
        "shares_theta0": shares,
        "shared_pairs": len(ptrs) - len(set(ptrs)),
        "grad_calls": calls[0],
    }
