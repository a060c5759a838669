"""Worker-side driver for `softmax` (runs in the student's process; reports, never judges)."""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.driver import WrongAnswer, plain


def _tensor(value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise WrongAnswer(f"{what} should return a tensor, got {type(value).__name__}")
    return plain(value, f"what {what} returned")


def values(student: Any, x: torch.Tensor, beta: float, device: str) -> dict[str, Any]:
    """nu and grad_nu at (x, beta), each given its own copy of x; the copies as they are
    after the calls come back too (whether x changed is decided on the trusted side)."""
    x_nu, x_grad = x.to(device).clone(), x.to(device).clone()
    out_nu = _tensor(student.nu(x_nu, float(beta)), "nu(x, beta)")
    out_grad = _tensor(student.grad_nu(x_grad, float(beta)), "grad_nu(x, beta)")
    return {"nu": out_nu, "grad": out_grad,  # the student's code had the copies: each read once
            "x_after_nu": plain(x_nu, "x after nu"), "x_after_grad": plain(x_grad, "x after grad_nu")}
