"""Hostile: at import, starts a non-daemon thread that spins forever (so the interpreter
can never exit by itself). It burns CPU hashing in a loop, which releases the GIL, so the
calls still run at speed (a pure-Python spinner would slow this student's own calls, up
to timeouts: their own doing, and not what this case is about). The rest is the
reference, so it earns full marks, and the worker must be killed when its student is done."""

import hashlib
import threading

import torch


def spin() -> None:
    block = b"x" * (1 << 20)
    while True:
        hashlib.sha256(block).digest()


threading.Thread(target=spin, name="hostile-spinner", daemon=False).start()


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
