"""mfdnn-hw5 momentum, a right solution in another style than the reference.

Heavy ball reads theta^{k-1} back from the list of iterates; the velocity form keeps
its own buffers and updates them in place, appending a copy of theta at every step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def heavy_ball(
    theta0: Tensor, grad_fn: Callable[[Tensor], Tensor], alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Form I: theta^{k+1} = theta^k - alpha g^k + beta (theta^k - theta^{k-1}).

    theta^{k-1} is read back from the list; at k = 0 it is theta^0 (theta^{-1} = theta^0).
    """
    thetas = [theta0.clone()]
    for k in range(num_steps):
        theta_k = thetas[k]
        theta_prev = thetas[k - 1] if k > 0 else theta_k
        thetas.append(theta_k - alpha * grad_fn(theta_k) + beta * (theta_k - theta_prev))
    return thetas


def velocity_momentum(
    theta0: Tensor, grad_fn: Callable[[Tensor], Tensor], alpha: float, beta: float, num_steps: int
) -> list[Tensor]:
    """Form II: v^{k+1} = g^k + beta v^k, v^0 = 0, theta^{k+1} = theta^k - alpha v^{k+1}."""
    theta = theta0.clone()
    v = torch.zeros_like(theta)
    thetas = [theta.clone()]
    for _ in range(num_steps):
        v.mul_(beta).add_(grad_fn(theta))
        theta.sub_(v, alpha=alpha)
        thetas.append(theta.clone())
    return thetas
