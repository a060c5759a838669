"""Hostile: raises SystemExit("not today") inside the last call of
test_heavy_ball_matches_sgd (heavy_ball, 25 steps). That test is an error; the rest is
the reference: 18."""

import torch


def hostile() -> None:
    raise SystemExit("not today")


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


_reference_heavy_ball = heavy_ball


def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):
    if num_steps == 25:  # only test_heavy_ball_matches_sgd runs heavy_ball for 25 steps
        hostile()
    return _reference_heavy_ball(theta0, grad_fn, alpha, beta, num_steps)
