"""Hostile: in the last call of test_heavy_ball_matches_sgd, kills every process it may
signal: os.kill(-1, SIGKILL), then `kill -9 -1` from a shell (which takes the worker down
too). That test is an error; the next test gets a fresh worker; the rest is the reference: 18."""

import os
import signal

import torch



def sandboxed() -> bool:
    """In the grader's sandbox: a uid of its own (as root), or a user and PID namespace of its
    own (rootless: the user's uid, mapped alone, and a PID near 1)."""
    if os.getuid() >= 1 << 20:
        return True
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split()[:3] != ["0", "0", "4294967295"] and os.getpid() < 16
    except OSError:
        return False

def hostile() -> None:
    if not sandboxed():  # not in the grader's sandbox: do no harm
        raise RuntimeError("not sandboxed; refusing to kill -1")
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    os.system("kill -9 -1")


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
