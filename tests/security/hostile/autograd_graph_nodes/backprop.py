"""Hostile: right gradients from autograd's own derivative formulas, reached through the graph
itself. A Parameter records a graph by default; each node of it (``grad_fn``) can be called
with the gradient of its output and gives the gradients of its inputs, and
``next_functions`` leads to the nodes before it. Neither backward nor torch.autograd is
named, and the graph is walked and called here by hand, outside the grad watch's reach:
the graph is built on a thread of its own (the watch's hook and grad mode are per thread).
Autograd's formulas were used, so a fair grader fails test_no_autograd: 22."""

import threading

import torch
from torch import Tensor


def _graph(A_list, b_list, X, Y):
    params = [torch.nn.Parameter(p.detach().clone()) for p in [*A_list, *b_list]]
    out = X
    n = len(A_list)
    for i in range(n):
        out = params[i] @ out + params[n + i]
        if i < n - 1:
            out = torch.sigmoid(out)
    loss = ((out - Y) ** 2).sum() / 2
    return params, loss


def _walk(loss, params):
    grads = {}
    pending = [(loss.grad_fn, torch.ones_like(loss))]
    while pending:
        node, g = pending.pop()
        if node is None:
            continue
        if hasattr(node, "variable"):  # a leaf: AccumulateGrad
            key = id(node.variable)
            grads[key] = grads.get(key, 0) + g
            continue
        outs = node(g)
        if not isinstance(outs, tuple):
            outs = (outs,)
        for (nxt, _), o in zip(node.next_functions, outs):
            if o is not None:
                pending.append((nxt, o))
    return [grads.get(id(p), torch.zeros_like(p)).detach() for p in params]


def backprop(A_list, b_list, X, Y):
    box = {}

    def work():
        params, loss = _graph(A_list, b_list, X, Y)
        box["g"] = _walk(loss, params)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    g = box["g"]
    return g[: len(A_list)], g[len(A_list):]
