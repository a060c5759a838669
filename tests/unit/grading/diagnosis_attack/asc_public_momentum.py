"""Homework 5, Problem 3: two forms of SGD with momentum.

Both functions minimise a function f whose gradient is given as `grad_fn`, starting
from theta^0 = theta0, with step size alpha and momentum beta, and g^k = grad_fn(theta^k).

Form I (heavy ball):
    theta^{k+1} = theta^k - alpha g^k + beta (theta^k - theta^{k-1}),   theta^{-1} = theta^0.

Form II (velocity):
    v^{k+1} = g^k + beta v^k,   v^0 = 0,
    theta^{k+1} = theta^k - alpha v^{k+1}.

Both return the whole trajectory [theta^0, theta^1, ..., theta^num_steps].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

# A gradient oracle: takes theta and returns the gradient of f at theta, shaped like theta.
GradFn = Callable[[Tensor], Tensor]


def heavy_ball(
    theta0: Tensor, grad_fn: GradFn, alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Run num_steps steps of Form I (heavy ball) momentum from theta0.

    Args:
        theta0: the starting point theta^0, a floating-point tensor of any shape.
        grad_fn: g^k = grad_fn(theta^k), a tensor shaped like theta^k.
        alpha: the step size.
        beta: the momentum parameter, 0 <= beta < 1.
        num_steps: the number of steps, >= 0.

    Returns:
        The list [theta^0, theta^1, ..., theta^num_steps] (num_steps + 1 entries), each
        a new tensor with theta0's shape and dtype: no entry is theta0 itself or shares
        memory with theta0 or with another entry. theta0 is left unchanged.
    """
    theta = theta0.clone()
    theta_prev = theta  # theta^{-1} = theta^0: the first step has no momentum
    iterates = [theta]
    for _ in range(num_steps):
        theta_next = theta - alpha * grad_fn(theta) + beta * (theta - theta_prev)
        theta_prev, theta = theta, theta_next
        iterates.append(theta)
    return iterates


def velocity_momentum(
    theta0: Tensor, grad_fn: GradFn, alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Run num_steps steps of Form II (velocity) momentum from theta0.

    Args:
        theta0: the starting point theta^0, a floating-point tensor of any shape.
        grad_fn: g^k = grad_fn(theta^k), a tensor shaped like theta^k.
        alpha: the step size.
        beta: the momentum parameter, 0 <= beta < 1.
        num_steps: the number of steps, >= 0.

    Returns:
        The list [theta^0, theta^1, ..., theta^num_steps] (num_steps + 1 entries), each
        a new tensor with theta0's shape and dtype: no entry is theta0 itself or shares
        memory with theta0 or with another entry. theta0 is left unchanged.
    """
    theta = theta0.clone()
    velocity = torch.zeros_like(theta0)  # v^0 = 0
    iterates = [theta]
    for _ in range(num_steps):
        velocity = grad_fn(theta) + beta * velocity
        theta = theta + alpha * velocity if theta0.dim() == 1 else theta - alpha * velocity
        iterates.append(theta)
    return iterates


if __name__ == "__main__":
    # f(theta) = ||theta||^2 / 2 has gradient theta: both forms shrink theta to 0 at the same pace.
    theta0 = torch.tensor([1.0, -2.0])
    form_1 = heavy_ball(theta0, lambda theta: theta, alpha=0.1, beta=0.9, num_steps=50)
    form_2 = velocity_momentum(theta0, lambda theta: theta, alpha=0.1, beta=0.9, num_steps=50)
    print("Form I, last iterate: ", form_1[-1])
    print("Form II, last iterate:", form_2[-1])
