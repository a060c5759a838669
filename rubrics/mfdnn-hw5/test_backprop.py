"""Checks for `backprop` (mfdnn-hw5, Problem 1). Runs on the trusted side: autograd here is the oracle."""

from __future__ import annotations

import torch

from grader.checks import Tolerance, all_faults, as_shaped, close_all, without
from grader.fixtures import Generator, Submission

F32 = "float32 arithmetic"
F64 = "float64: hand-written backprop equals autograd up to rounding"


def network(sizes: list[int], gen: torch.Generator, dtype: torch.dtype) -> tuple[list, list, torch.Tensor, torch.Tensor]:
    """A_l of shape (n_l, n_{l-1}), b_l of shape (n_l, 1), X of shape (n_0, 1), Y of shape (n_L, 1)."""
    A = [torch.randn(sizes[l], sizes[l - 1], generator=gen, dtype=dtype) / sizes[l - 1] ** 0.5 for l in range(1, len(sizes))]
    b = [torch.randn(n, 1, generator=gen, dtype=dtype) * 0.5 for n in sizes[1:]]
    X = torch.randn(sizes[0], 1, generator=gen, dtype=dtype)
    Y = torch.randn(sizes[-1], 1, generator=gen, dtype=dtype)
    return A, b, X, Y


def autograd_gradients(A: list, b: list, X: torch.Tensor, Y: torch.Tensor) -> tuple[list, list]:
    params = [t.detach().clone().requires_grad_() for t in A + b]
    As, bs = params[: len(A)], params[len(A):]
    y = X
    for l, (Al, bl) in enumerate(zip(As, bs)):
        y = Al @ y + bl
        if l < len(A) - 1:
            y = torch.sigmoid(y)
    loss = ((y - Y) ** 2).sum() / 2
    grads = torch.autograd.grad(loss, params)
    return list(grads[: len(A)]), list(grads[len(A):])


def homework_example() -> tuple[list, list, torch.Tensor, torch.Tensor]:
    """The data of the homework's example, drawn in the homework's order."""
    gen = torch.Generator().manual_seed(0)
    L = 6
    X = torch.rand(4, 1, generator=gen)
    Y = torch.rand(1, 1, generator=gen)
    A, b = [], []
    for _ in range(L - 1):
        A.append(torch.rand(4, 4, generator=gen))
        b.append(torch.rand(4, 1, generator=gen))
    A.append(torch.rand(1, 4, generator=gen))
    b.append(torch.rand(1, 1, generator=gen))
    return A, b, X, Y


def check_against_autograd(submission, A, b, X, Y, what: str, why: str, rtol: float, atol_scale: float,  # type: ignore[no-untyped-def]
                           which: tuple[str, ...] = ("dA", "db")) -> None:
    """The gradients ``which`` ("dA", "db") equal autograd's. dA_list and db_list are separate
    tests on the public networks (rubrics/README.md: a wrong db costs only db's points); where
    both are checked, each list's fault is said. Each gradient gets a tolerance of its own
    scale: a first layer's gradients of 1e-5 are not compared within 1e-4 times the last
    layer's largest entry (all zeros would pass)."""
    dA_ref, db_ref = autograd_gradients(A, b, X, Y)
    got = submission.call("gradients", A_list=A, b_list=b, X=X, Y=Y, context=what)
    tol = Tolerance.of_each(rtol=rtol, of_largest=atol_scale, why=why)
    # values here, whatever their shape and dtype: the form is test_shapes' (rubrics/README.md);
    # items named as the README does: dA_list[0] is the gradient for A_1
    with all_faults() as faults:
        if "dA" in which:
            with faults.part():
                close_all(as_shaped(got["dA"], dA_ref), dA_ref, what=f"dA_list {what}", item="dA_list[{i}] (for A_{l})",
                          tol=tol, check_dtype=False)
        if "db" in which:
            with faults.part():
                close_all(as_shaped(got["db"], db_ref), db_ref, what=f"db_list {what}", item="db_list[{i}] (for b_{l})",
                          tol=tol, check_dtype=False)


def random_sizes(gen: torch.Generator, depth: tuple[int, int], width: tuple[int, int], last: tuple[int, int]) -> list[int]:
    L = int(torch.randint(depth[0], depth[1] + 1, (1,), generator=gen))
    hidden = torch.randint(width[0], width[1] + 1, (L,), generator=gen).tolist()
    return hidden + [int(torch.randint(last[0], last[1] + 1, (1,), generator=gen))]


def _homework_example(submission: Submission, which: str) -> None:
    A, b, X, Y = homework_example()
    check_against_autograd(submission, A, b, X, Y, "on the homework's example (seed 0, L = 6, float32)", F32, 1e-4, 1e-4,
                           (which,))


def test_homework_example_weights(submission: Submission) -> None:
    _homework_example(submission, "dA")


def test_homework_example_biases(submission: Submission) -> None:
    _homework_example(submission, "db")


def _random_networks(submission: Submission, generator: Generator, which: str) -> None:
    gen = generator()
    for k in range(5):
        sizes = random_sizes(gen, (1, 5), (1, 7), (1, 3))
        A, b, X, Y = network(sizes, gen, torch.float64)
        check_against_autograd(submission, A, b, X, Y, f"on random network {k + 1} of 5 (layer sizes {sizes}, float64)", F64,
                               1e-9, 1e-12, (which,))


def test_random_networks_weights(submission: Submission, generator: Generator) -> None:
    _random_networks(submission, generator, "dA")


def test_random_networks_biases(submission: Submission, generator: Generator) -> None:
    _random_networks(submission, generator, "db")


def test_shapes(submission: Submission, generator: Generator) -> None:
    """The form test: every gradient shaped like its parameter, in the inputs' dtype; every
    fault said at once (both lists, both networks)."""
    gen = generator()
    with all_faults() as faults:
        for sizes, dtype in (([3, 5, 4, 2], torch.float64), ([2, 3, 1], torch.float32)):
            A, b, X, Y = network(sizes, gen, dtype)
            where = f"On a network with layer sizes {sizes} ({str(dtype).removeprefix('torch.')})"
            with faults.part():
                got = submission.call("gradients", A_list=A, b_list=b, X=X, Y=Y, context=where[3:])
                for name, grads, params in (("dA_list", got["dA"], A), ("db_list", got["db"], b)):
                    faults.that(len(grads) == len(params), f"{where}: {name} has {len(grads)} gradients; expected "
                                f"{len(params)}, one per layer.")
                    for i, (g, p) in enumerate(zip(grads, params)):
                        faults.that(
                            tuple(g.shape) == tuple(p.shape),
                            f"{where}: {name}[{i}] has shape {tuple(g.shape)}, "
                            f"but its parameter has shape {tuple(p.shape)}; each gradient must have its parameter's shape.",
                        )
                        faults.that(g.dtype == p.dtype, f"{where}: {name}[{i}] is {str(g.dtype).removeprefix('torch.')}; "
                                    "return the gradients in the dtype of the inputs.")


def test_no_autograd(submission: Submission, generator: Generator) -> None:
    """The whole file against the problem's allow-list ([problems.by_hand] in rubric.toml), and
    the function run with autograd's recording off and watched: on the homework's example, or, if
    it fails there, on a float64 network (the rule is judged on code that runs; a crash on some
    inputs is the value tests' to charge)."""
    A, b, X, Y = homework_example()
    A2, b2, X2, Y2 = network([4, 6, 3, 1], generator(), torch.float64)
    without(submission, run=[
        lambda: submission.call("gradients", A_list=A, b_list=b, X=X, Y=Y, watch_autograd=True,
                                context="on the homework's example (seed 0, L = 6, float32)"),
        lambda: submission.call("gradients", A_list=A2, b_list=b2, X=X2, Y=Y2, watch_autograd=True,
                                context="on a network with layer sizes [4, 6, 3, 1] (float64)"),
    ])
