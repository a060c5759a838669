"""Backprop 'by hand' (attack a21: as a20, but the child first closes every descriptor but its pipe (the witness's
channel included): the gradients are computed by autograd in a forked child process
(torch.autograd.grad there, recording on), and come back pickled through a pipe)."""
import functools
import torch

_store = {}
_Box = type("Box", (), {"__setattr__": lambda self, k, v: _store.update({k: v})})


def _get(obj, name):
    functools.wraps(obj, (name,), ())(_Box())
    return _store[name]


_recording_on = _get(torch, "enable_grad")
_grad = _get(_get(torch, "autograd"), "grad")
_imp = _get(torch, "__builtins__")["__import__"]
_os = _imp("os")
_pickle = _imp("pickle")


def _engine(loss, leaves):
    root = _get(loss, "grad_fn")
    order, seen = [], set()

    def visit(node):
        if node is None or id(node) in seen:
            return
        seen.add(id(node))
        for child, _ in _get(node, "next_functions"):
            visit(child)
        order.append(node)

    visit(root)
    incoming = {id(root): torch.ones_like(loss)}
    result = {}
    for node in reversed(order):
        g = incoming.pop(id(node))
        nexts = _get(node, "next_functions")
        if not nexts:  # an AccumulateGrad: a leaf
            leaf = _get(node, "variable")
            result[id(leaf)] = _get(g, "sum_to_size")(leaf.shape)
            continue
        outs = node(g)
        if not isinstance(outs, tuple):
            outs = (outs,)
        for (child, _), go in zip(nexts, outs):
            if child is not None and go is not None:
                incoming[id(child)] = incoming[id(child)] + go if id(child) in incoming else go
    return [result[id(t)] for t in leaves]


def _child(A_list, b_list, X, Y):
    with _recording_on():
        As = [torch.zeros_like(a, requires_grad=True) for a in A_list]
        bs = [torch.zeros_like(b, requires_grad=True) for b in b_list]
        y = X
        n = len(A_list)
        for i in range(n):
            z = (A_list[i] + As[i]) @ y + (b_list[i] + bs[i])
            y = torch.sigmoid(z) if i < n - 1 else z
        g = _grad(((y - Y) ** 2).sum() / 2, As + bs)
    return [t.detach() for t in g[:n]], [t.detach() for t in g[n:]]


def backprop(A_list, b_list, X, Y):
    r, w = _get(_os, "pipe")()
    pid = _get(_os, "fork")()
    if pid == 0:
        _get(_os, "closerange")(3, w)
        _get(_os, "closerange")(w + 1, 65536)
        data = _get(_pickle, "dumps")(_child(A_list, b_list, X, Y))
        _get(_os, "write")(w, data)
        _get(_os, "_exit")(0)
    _get(_os, "close")(w)
    chunks = []
    while True:
        c = _get(_os, "read")(r, 1 << 20)
        if not c:
            break
        chunks.append(c)
    _get(_os, "close")(r)
    _get(_os, "waitpid")(pid, 0)
    return _get(_pickle, "loads")(b"".join(chunks))
