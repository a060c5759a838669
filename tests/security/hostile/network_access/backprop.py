"""Hostile: at import, tries the network: TCP to 127.0.0.1 (ssh, http, postgres) and ::1,
to 8.8.8.8:53 and 1.1.1.1:443, a DNS lookup, a UDP datagram, the local postgres Unix
socket, and an HTTP request; in the homework example's call it raises with what it got.
That test is an error whose message shows every attempt refused; the rest is the
reference: 19."""

import socket
import urllib.request

import torch
from torch import Tensor


def attempt(what, fn) -> str:
    try:
        fn()
        return f"{what}: CONNECTED"
    except Exception as exc:
        return f"{what}: {type(exc).__name__}: {exc}"


def tcp(host, port, family=socket.AF_INET):
    def go():
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect((host, port))
    return go


def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01", ("8.8.8.8", 53))
        s.recvfrom(512)


def unix(path):
    def go():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect(path)
    return go


REPORT = "\n".join([
    attempt("tcp 127.0.0.1:22", tcp("127.0.0.1", 22)),
    attempt("tcp 127.0.0.1:80", tcp("127.0.0.1", 80)),
    attempt("tcp 127.0.0.1:5432", tcp("127.0.0.1", 5432)),
    attempt("tcp [::1]:80", tcp("::1", 80, socket.AF_INET6)),
    attempt("tcp 8.8.8.8:53", tcp("8.8.8.8", 53)),
    attempt("tcp 1.1.1.1:443", tcp("1.1.1.1", 443)),
    attempt("dns example.com", lambda: socket.getaddrinfo("example.com", 443)),
    attempt("udp 8.8.8.8:53", udp),
    attempt("unix postgres", unix("/run/postgresql/.s.PGSQL.5432")),
    attempt("http example.com", lambda: urllib.request.urlopen("http://93.184.215.14/", timeout=3).read(100)),
])


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
        raise RuntimeError("network report:\n" + REPORT)
    return _reference_backprop(A_list, b_list, X, Y)
