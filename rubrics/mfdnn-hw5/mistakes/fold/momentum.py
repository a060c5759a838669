"""mfdnn-hw5 momentum, a right solution in another style than the reference.

Each form is a fold: a pure step function maps the state at step k to the state at
step k + 1, and itertools.accumulate yields every state from the initial one on.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate

import torch
from torch import Tensor


def heavy_ball(
    theta0: Tensor, grad_fn: Callable[[Tensor], Tensor], alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Form I; the state is (theta^k, theta^{k-1}), starting from (theta^0, theta^0)."""

    def step(state: tuple[Tensor, Tensor], _: int) -> tuple[Tensor, Tensor]:
        theta, theta_prev = state
        return theta - alpha * grad_fn(theta) + beta * (theta - theta_prev), theta

    start = theta0.clone()
    return [theta for theta, _ in accumulate(range(num_steps), step, initial=(start, start))]


def velocity_momentum(
    theta0: Tensor, grad_fn: Callable[[Tensor], Tensor], alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Form II; the state is (theta^k, v^k), starting from (theta^0, 0)."""

    def step(state: tuple[Tensor, Tensor], _: int) -> tuple[Tensor, Tensor]:
        theta, v = state
        v = grad_fn(theta) + beta * v
        return theta - alpha * v, v

    start = (theta0.clone(), torch.zeros_like(theta0))
    return [theta for theta, _ in accumulate(range(num_steps), step, initial=start)]
