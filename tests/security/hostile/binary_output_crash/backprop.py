"""Hostile: binary garbage on stdout and stderr at import (random bytes, NUL bytes, invalid
UTF-8, terminal escapes, HTML with a script, a fake reply frame), then in the homework
example's call more of it and a segmentation fault. That test is an error; the garbage it
shows must stay inert in result.json and feedback.html; the rest is the reference: 19."""

import json
import os
import signal
import struct
import sys

import torch
from torch import Tensor

GARBAGE = (b"\0\xff\xfe\x80\x81 \x1b[2J\x1b[31mRED\x1b]0;title\x07 </pre><script>alert('hostile')</script>"
           b"<img src=x onerror=alert(1)> \xc3\x28 \xed\xa0\x80 \r\r\r\b\b\b")


def spew() -> None:
    fake = json.dumps({"ok": True, "values": {"autograd": []}}).encode()
    for fd in (1, 2):
        os.write(fd, GARBAGE + os.urandom(4096) + struct.pack(">Q", len(fake)) + fake + b"\n")


spew()


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


_reference_backprop = backprop


def backprop(A_list, b_list, X, Y):
    if X.dtype == torch.float32:  # only the homework's example (test_homework_example) is float32
        spew()
        os.kill(os.getpid(), signal.SIGSEGV)
    return _reference_backprop(A_list, b_list, X, Y)
