"""Hostile: in test_theta0_unchanged's call, tries os.setsid() (refused: the worker already
leads its session), starts a child that does get a session of its own and stops itself,
then sends itself SIGSTOP. A stopped process never answers: that test times out (20 s),
everything of that worker is killed, and the rest is the reference: 22."""

import os
import signal

import torch


def hostile() -> None:
    try:
        os.setsid()
    except OSError:
        pass
    if os.fork() == 0:
        os.setsid()
        os.kill(os.getpid(), signal.SIGSTOP)
        os._exit(0)
    os.kill(os.getpid(), signal.SIGSTOP)


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
