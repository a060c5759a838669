"""mfdnn-hw5 momentum, a right solution in another style than the reference.

The trajectory is one preallocated tensor of shape (num_steps + 1, *theta0.shape);
its rows are returned as separate copies.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def _trajectory(theta0: Tensor, num_steps: int) -> Tensor:
    """An uninitialised (num_steps + 1, *theta0.shape) tensor whose row 0 is theta0."""
    trajectory = theta0.new_empty((num_steps + 1, *theta0.shape))
    trajectory[0] = theta0
    return trajectory


def heavy_ball(
    theta0: Tensor, grad_fn: Callable[[Tensor], Tensor], alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Form I (heavy ball), theta^{-1} = theta^0."""
    trajectory = _trajectory(theta0, num_steps)
    for k in range(num_steps):
        previous = trajectory[max(k - 1, 0)]
        trajectory[k + 1] = (
            trajectory[k] - alpha * grad_fn(trajectory[k]) + beta * (trajectory[k] - previous)
        )
    return [row.clone() for row in trajectory]


def velocity_momentum(
    theta0: Tensor, grad_fn: Callable[[Tensor], Tensor], alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Form II (velocity), v^0 = 0."""
    trajectory = _trajectory(theta0, num_steps)
    velocities = torch.zeros_like(trajectory)  # velocities[k] = v^k
    for k in range(num_steps):
        velocities[k + 1] = grad_fn(trajectory[k]) + beta * velocities[k]
        trajectory[k + 1] = trajectory[k] - alpha * velocities[k + 1]
    return [row.clone() for row in trajectory]
