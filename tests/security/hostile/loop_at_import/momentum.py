"""Hostile: spins forever at import (after defining the reference functions). The import
is timed out once (30 s) and every momentum test is a timeout: 0 of 25."""

import torch


def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):
    theta = theta0.clone()
    theta_prev = theta  # theta^{-1} = theta^0: the first step has no momentum
    iterates = [theta]
    for _ in range(num_steps):
        theta_next = theta - alpha * grad_fn(theta) + beta * (theta - theta_prev)
        theta_prev, theta = theta, theta_next
        iterates.append(theta)
    return iterates


def velocity_momentum(theta0, grad_fn, alpha, beta, num_steps):
    theta = theta0.clone()
    velocity = torch.zeros_like(theta0)  # v^0 = 0
    iterates = [theta]
    for _ in range(num_steps):
        velocity = grad_fn(theta) + beta * velocity
        theta = theta - alpha * velocity
        iterates.append(theta)
    return iterates


while True:
    pass
