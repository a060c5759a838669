"""Hostile: calls os._exit(3) inside test_theta0_unchanged's call (the only one with 10
steps). The process is gone: that test is an error, the next test gets a fresh worker;
the rest is the reference: 22."""

import os

import torch


def hostile() -> None:
    print("leaving now", flush=True)
    os._exit(3)


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
    if num_steps == 10:  # only test_theta0_unchanged runs 10 steps
        hostile()
    return _reference_heavy_ball(theta0, grad_fn, alpha, beta, num_steps)
