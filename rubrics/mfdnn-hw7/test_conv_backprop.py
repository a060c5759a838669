"""Checks for `conv_backprop` (mfdnn-hw7, Problem 4). Runs on the trusted side: autograd
through torch's own conv1d and activations, here, is the oracle. The worker is given an
activation's name and makes sigma and sigma_prime itself (drivers/conv_backprop.py)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from grader.checks import CheckFailed, Tolerance, all_faults, as_shaped, close_all, input_changes, without
from grader.fixtures import Generator, Submission

ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "softplus": F.softplus}
F64 = "float64: backprop by hand equals autograd up to rounding"
F32 = "float32 arithmetic"


def network(gen: torch.Generator, n: int, ks: list[int], dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, list, list]:
    """x of length n, hidden filters of lengths ks, and a last filter as long as its input."""
    last = n - sum(k - 1 for k in ks)
    assert last >= 1, (n, ks)
    x = torch.randn(n, generator=gen, dtype=torch.float64)
    ws = [torch.randn(k, generator=gen, dtype=torch.float64) / k**0.5 for k in [*ks, last]]
    bs = [0.5 * torch.randn((), generator=gen, dtype=torch.float64) for _ in ws]
    return x.to(dtype), [w.to(dtype) for w in ws], [b.to(dtype) for b in bs]


def autograd_gradients(x: torch.Tensor, ws: list, bs: list, activation: str) -> tuple[list, list]:
    params = [t.detach().clone().requires_grad_() for t in ws + bs]
    y = x.reshape(1, 1, -1)
    L = len(ws)
    for l in range(L):
        y = F.conv1d(y, params[l].reshape(1, 1, -1)) + params[L + l]
        if l < L - 1:
            y = ACTIVATIONS[activation](y)  # type: ignore[operator]
    assert y.numel() == 1
    grads = torch.autograd.grad(y.sum(), params)
    return list(grads[:L]), list(grads[L:])


def describe(x: torch.Tensor, ws: list, activation: str) -> str:
    return (f"a net with n = {x.numel():,}, filter lengths {[w.numel() for w in ws]} (L = {len(ws)}), "
            f"sigma = {activation}, {str(x.dtype).removeprefix('torch.')}")


def run(submission, x, ws, bs, activation: str, context: str | None = None, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return submission.call("gradients", x=x, ws=ws, bs=bs, activation=activation, context=context or f"on {describe(x, ws, activation)}", **extra)




def check(submission, x, ws, bs, activation: str, context: str | None = None, atol: float | None = None,  # type: ignore[no-untyped-def]
          which: tuple[str, ...] = ("dws", "dbs")) -> None:
    """The gradients ``which`` equal autograd's; dws and dbs are separate tests where they can be
    (rubrics/README.md: a wrong bias gradient costs only the bias tests' points), and where both
    are checked each list's fault is said. Each gradient is compared with a tolerance of its own
    scale (a small layer's gradients never hide under a large one's)."""
    dw_ref, db_ref = autograd_gradients(x, ws, bs, activation)
    got = run(submission, x, ws, bs, activation, context)
    if x.dtype == torch.float64:
        tol = Tolerance.of_each(rtol=1e-9, of_largest=atol or 1e-12, why=F64)
    else:
        tol = Tolerance.of_each(rtol=1e-4, of_largest=1e-5, why=F32)
    where = describe(x, ws, activation)
    with all_faults() as faults:
        for name, got_list, ref, sym in (("dws", got["dws"], dw_ref, "w"), ("dbs", got["dbs"], db_ref, "b")):
            if name not in which:
                continue
            with faults.part():
                try:
                    close_all(as_shaped(got_list, ref), ref, what=f"{name} on {where}, against autograd",
                              item=f"{name}[{{i}}] (d y_L / d {sym}_{{l}})", tol=tol, check_dtype=False,
                              index_names=["tap"] if sym == "w" else None)
                except CheckFailed as exc:
                    raise CheckFailed(f"{exc}{_reversed_hint(name, got_list, ref, tol)}") from None


def _reversed_hint(name: str, got: list, ref: list, tol: Tolerance) -> str:
    """When the list holds the right gradients last layer first, say so (not only its shapes)."""
    if len(got) != len(ref) or len(ref) < 2:
        return ""
    for g, e in zip(reversed(got), ref):
        if not isinstance(g, torch.Tensor) or g.numel() != e.numel():
            return ""
        g = g.reshape(e.shape).to(torch.float64)
        each = tol.on(e)
        if not bool(((g - e.to(torch.float64)).abs() <= each.atol + each.rtol * e.to(torch.float64).abs()).all()):
            return ""
    return (f"\n{name} holds the right gradients in reverse order (the last layer's first): "
            f"{name}[0] must be layer 1's, {name}[{len(ref) - 1}] layer {len(ref)}'s.")


def _two_layers(submission: Submission, generator: Generator, which: str) -> None:
    gen = generator()
    for n, ks, activation in ((12, [3], "tanh"), (9, [4], "sigmoid")):
        check(submission, *network(gen, n, ks), activation, which=(which,))


def test_two_layers_dws(submission: Submission, generator: Generator) -> None:
    _two_layers(submission, generator, "dws")


def test_two_layers_dbs(submission: Submission, generator: Generator) -> None:
    _two_layers(submission, generator, "dbs")


def _deeper_nets(submission: Submission, generator: Generator, which: str) -> None:
    gen = generator()
    for activation in ("tanh", "sigmoid", "softplus", "tanh"):
        depth = int(torch.randint(2, 5, (1,), generator=gen))
        ks = torch.randint(1, 7, (depth,), generator=gen).tolist()
        n = sum(k - 1 for k in ks) + int(torch.randint(3, 25, (1,), generator=gen))
        check(submission, *network(gen, n, ks), activation, which=(which,))


def test_deeper_nets_dws(submission: Submission, generator: Generator) -> None:
    _deeper_nets(submission, generator, "dws")


def test_deeper_nets_dbs(submission: Submission, generator: Generator) -> None:
    _deeper_nets(submission, generator, "dbs")


def test_shapes_dtype_and_inputs(submission: Submission, generator: Generator) -> None:
    """The form test: shapes, dtypes and the inputs left as they were, every fault said at once."""
    gen = generator()
    with all_faults() as faults:
        for dtype in (torch.float32, torch.float64):
            x, ws, bs = network(gen, 15, [3, 2], dtype)
            with faults.part():
                got = run(submission, x, ws, bs, "tanh")
                for name, grads, params in (("dws", got["dws"], ws), ("dbs", got["dbs"], bs)):
                    for i, (g, p) in enumerate(zip(grads, params)):
                        faults.that(tuple(g.shape) == tuple(p.shape), f"On {describe(x, ws, 'tanh')}: {name}[{i}] has shape "
                                    f"{tuple(g.shape)}, but its parameter has shape {tuple(p.shape)}; each gradient must have "
                                    f"its parameter's shape ({'a 0-dim tensor for a bias' if name == 'dbs' else '(k_l,) for a filter'}).")
                        faults.that(g.dtype == dtype, f"On {describe(x, ws, 'tanh')}: {name}[{i}] is {str(g.dtype)[6:]}; "
                                    "return x's dtype.")
                # decided here, from the inputs the worker held from before the call (its own references)
                changed = input_changes({"x": x, "ws": ws, "bs": bs}, got["inputs"])
                faults.that(not changed, f"On {describe(x, ws, 'tanh')}, conv_net_grads changed its inputs:\n  "
                            + "\n  ".join(changed) + "\nLeave the inputs unchanged.")


def test_no_autograd(submission: Submission, generator: Generator) -> None:
    """The whole file against the problem's allow-list ([problems.by_hand] in rubric.toml), and
    the function run with autograd's recording off and watched, on a float64 network, or, if it
    fails there, a float32 one (the rule is judged on code that runs; a crash on some inputs is
    the value tests' to charge)."""
    gen = generator()
    x, ws, bs = network(gen, 16, [3, 4])
    x32, ws32, bs32 = network(gen, 16, [3, 4], torch.float32)
    without(submission, run=[lambda: run(submission, x, ws, bs, "tanh", watch_autograd=True),
                             lambda: run(submission, x32, ws32, bs32, "tanh", watch_autograd=True)])


MILLION = 1_000_000


def test_million_samples(submission: Submission, generator: Generator) -> None:
    x, ws, bs = network(generator(), MILLION, [7, 3])
    out = MILLION - 6
    check(submission, x, ws, bs, "tanh", atol=1e-11, context=(
        f"on a signal of n = {MILLION:,} samples with filter lengths {[w.numel() for w in ws]}: the first layer's A_w alone "
        f"would be a {out:,} x {MILLION:,} matrix ({out * MILLION * 8 / 1e12:.0f} TB in float64), far beyond this problem's "
        "memory limit; conv1d and conv_transpose1d need only a few vectors of length n"),
          which=("dws",))  # the memory test: the filters' gradients show the backward pass ran at this size
