"""Issue 27: a check of "the inputs are left unchanged" decides from the driver's own hold on
the inputs (``grader.driver.keep``), never from anything the student's code could reach.

Before, clip_grad's driver read the gradients back from the list it had handed over, and the
generic path (``submission.function(..., inputs=True)``) the arguments it had unpacked into
the call: a function that changed the tensors in place and put copies back in the list, or
pointed the caller's tensor at a copy (``t.data = ...``, ``t.set_(...)``), passed. Each case
below is one way of making an input look untouched; each must be seen, and an honest
function must be reported as changing nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader._sandbox.inprocess import InProcessRunner
from grader.checks import input_changes
from workers import make_run

# The worker's own code (keep, plain) judged on the in-process runner: the same request loop, no process.
RUNNER = InProcessRunner()

FUNCTIONS = """
    import torch

    def honest(xs, c):
        return [x * c for x in xs]

    def copies_put_back(xs, c):
        saved = [x.clone() for x in xs]
        for x in xs:
            x.mul_(c)
        out = [x.clone() for x in xs]
        xs[:] = saved
        return out

    def data_swapped_back(xs, c):
        saved = xs[0].clone()
        xs[0].mul_(c)
        out = [xs[0].clone()]
        xs[0].data = saved
        return out

    def set_back(xs, c):
        saved = xs[0].clone()
        xs[0].mul_(c)
        out = [xs[0].clone()]
        xs[0].set_(saved)
        return out

    def resized(xs, c):
        xs[0].resize_(2)
        return [xs[0] * c]

    def through_a_view(xs, c):
        xs[0].view(-1)[0] = 123.0
        return [x * c for x in xs]

    def given_new_values(xs, c):
        xs[0].data = xs[0] * c
        return [xs[0].clone()]

    def returns_the_input(xs, c):
        return [xs[0], xs[1] * c]

    def returns_a_view(xs, c):
        return [xs[0] * c, xs[1].view(-1)]

    def returns_swapped_input(xs, c):
        xs[0].data = xs[0].clone()
        return [xs[0]]

    def appends(xs, c):
        xs.append(torch.zeros(1))
        return [x * c for x in xs[:2]]

    def dict_replaced(d, c):
        d["a"] = d["a"] * c
        return [d["a"]]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    r = make_run(tmp_path_factory.mktemp("kept"), FUNCTIONS, budget=120.0, runner=RUNNER)
    yield r
    r.close()


def inputs() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(27)
    return [torch.randn(3, 4, generator=gen, dtype=torch.float64), torch.randn(5, generator=gen, dtype=torch.float64)]


CASES = [
    ("honest", [], []),
    ("copies_put_back", ["xs[0] was changed in place", "xs[1] was changed in place", "The caller's list xs was changed: items 0, 1 replaced"], []),
    ("data_swapped_back", ["xs[0] was changed in place"], []),
    ("set_back", ["xs[0] was changed in place"], []),
    ("resized", ["xs[0], the tensor the caller holds, was given other memory (its shape is (2,), it was (3, 4))"], []),
    ("through_a_view", ["xs[0] was changed in place: 1 of 12 entries differ"], []),
    ("given_new_values", ["xs[0], the tensor the caller holds, was given other memory (12 of 12 entries differ"], []),
    ("returns_the_input", [], [0]),
    ("returns_a_view", [], [1]),
    ("returns_swapped_input", [], [0]),
    ("appends", ["The caller's list xs was changed: item 2 added; its length went from 2 to 3"], []),
]


@pytest.mark.parametrize("name, said, shared", CASES, ids=[c[0] for c in CASES])
def test_every_way_of_making_an_input_look_untouched_is_seen(run, name: str, said: list[str], shared: list[int]) -> None:  # type: ignore[no-untyped-def]
    xs = inputs()
    got = run.call("kept", name=name, xs=xs, c=3.0)
    changes = input_changes({"xs": xs}, got["inputs"])
    for phrase in said:
        assert any(phrase in line for line in changes), (phrase, changes)
    assert bool(changes) == bool(said), changes
    assert got["shared"] == shared


def test_a_dict_s_replaced_value_is_seen(run) -> None:  # type: ignore[no-untyped-def]
    d = {"a": torch.ones(2), "b": torch.zeros(2)}
    got = run.call("kept", name="dict_replaced", d=d, c=2.0)
    assert input_changes({"d": d}, got["inputs"]) == [
        "The caller's dict d was changed: key a replaced by other objects. Leave the inputs as they are (make new ones)."]


MODULES = """
    import torch

    def reads(net):
        return net(torch.ones(1, 3))

    def replaces_weight(net):
        net.weight = torch.nn.Parameter(net.weight.detach() * 2)

    def in_place_then_swapped(net):
        saved = net.weight.detach().clone()
        with torch.no_grad():
            net.weight.mul_(2)
        net.weight.data = saved

    def copies_back_in_place(net):
        saved = net.weight.detach().clone()
        with torch.no_grad():
            net.weight.mul_(2)
            net.weight.copy_(saved)
"""


@pytest.mark.parametrize("name, said", [
    ("reads", []),
    ("replaces_weight", ["The caller's module net was changed: tensor weight replaced by other objects"]),
    ("in_place_then_swapped", ["net.weight was changed in place: 5 of 6 entries differ"]),
    ("copies_back_in_place", []),  # put back as it was, in its own memory: nothing is changed
])  # fmt: skip
def test_a_module_s_parameters_are_held_by_the_driver(tmp_path: Path, name: str, said: list[str]) -> None:
    run = make_run(tmp_path, MODULES, runner=RUNNER)
    try:
        got = run.call("kept_module", name=name)
    finally:
        run.close()
    sent = {"weight": torch.arange(6.0).reshape(2, 3) / 10, "bias": torch.tensor([1.0, 2.0])}
    changes = input_changes({"net": sent}, got["inputs"])
    assert len(changes) == len(said) and all(p in line for p, line in zip(said, changes)), changes


def test_the_generic_path_judges_the_arguments_from_its_own_hold(tmp_path: Path) -> None:
    """``submission.function(name, inputs=True)``: the same hold on the arguments; ``args`` is
    what the caller holds now, ``changes`` every way the call changed them, ``shared`` which
    returned tensors are arguments."""
    run = make_run(tmp_path, runner=RUNNER, source="""
        import torch

        def shift(x, m):
            out = x - m
            return out

        def shift_hidden(x, m):
            saved = x.clone()
            x.sub_(m)
            out = x.clone()
            x.data = saved  # the caller's x shows its old values; its memory holds x - m
            return out

        def same(x, m):
            return x

        def keyword(x, m, *, into):
            into.add_(m)
            return x + m
    """)
    try:
        x = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
        honest = run.function("shift", inputs=True)(x, 1.0)
        assert honest.changes(["x", "m"]) == [] and honest.shared == []
        assert torch.equal(honest.args[0], x) and honest.args[1] == 1.0
        hidden = run.function("shift_hidden", inputs=True)(x, 1.0)
        assert hidden.changes(["x", "m"]) == ["x was changed in place: 6 of 6 entries differ, by up to 1."]
        assert torch.equal(hidden.args[0], x)  # what the caller's x shows: the check cannot stop there
        assert run.function("same", inputs=True)(x, 1.0).shared == [0]
        kw = run.function("keyword", inputs=True)(x, 2.0, into=torch.zeros(3))
        assert kw.changes(["x", "m"]) == ["into was changed in place: 3 of 3 entries differ, by up to 2."]
    finally:
        run.close()
