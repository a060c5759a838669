"""HW5 problem 3 -- Frank"""

import torch


def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):
    out = [theta0.clone()]
    for k in range(num_steps):
        theta = out[-1]
        theta_prev = out[-2] if k > 0 else out[-1]
        out.append(theta - alpha * grad_fn(theta) + beta * (theta - theta_prev))
    return out


def velocity_momentum(theta0, grad_fn, alpha, beta, num_steps):
    out = [theta0.clone()]
    v = torch.zeros_like(theta0)
    for _ in range(num_steps):
        v = beta * v - grad_fn(out[-1])  # velocity points downhill
        out.append(out[-1] - alpha * v)
    return out
