"""Hostile: overwrites the caller's theta0 in place (mistake velocity_modifies_theta0: right
iterates, each appended as a copy) and hides it: at import it replaces torch.equal, which
the theta0 check uses to compare theta0 before and after the call, with one that always
says "equal". theta0 was changed, so a fair grader fails test_theta0_unchanged: 22."""

import torch

torch.equal = lambda a, b: True


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
    theta = theta0  # the mistake: works on the caller's tensor
    velocity = torch.zeros_like(theta0)  # v^0 = 0
    iterates = [theta.clone()]
    for _ in range(num_steps):
        velocity = grad_fn(theta) + beta * velocity
        theta -= alpha * velocity
        iterates.append(theta.clone())
    return iterates
