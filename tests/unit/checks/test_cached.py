"""``cached``: an oracle computed once per distinct input in a batch, told apart by content."""

from __future__ import annotations

import pytest
import torch

from grader import ConfigError
from grader.checks import cached


def counting() -> tuple[list[int], object]:
    calls: list[int] = []

    @cached
    def oracle(state: dict[str, torch.Tensor], x: torch.Tensor, lr: float) -> torch.Tensor:
        calls.append(1)
        return sum(v.sum() for v in state.values()) * x.sum() * lr

    return calls, oracle


def test_the_same_inputs_in_new_tensors_are_computed_once() -> None:
    calls, oracle = counting()
    first = oracle({"w": torch.ones(3)}, torch.arange(4.0), 0.1)  # type: ignore[operator]
    again = oracle({"w": torch.ones(3)}, torch.arange(4.0), 0.1)  # type: ignore[operator]
    assert len(calls) == 1 and torch.equal(first, again)


@pytest.mark.parametrize("change", ["one entry", "dtype", "shape", "a key", "a number", "requires_grad"])
def test_any_difference_in_the_inputs_is_computed_anew(change: str) -> None:
    calls, oracle = counting()
    state, x, lr = {"w": torch.ones(3)}, torch.arange(4.0), 0.1
    oracle(state, x, lr)  # type: ignore[operator]
    if change == "one entry":
        x = x.clone()
        x[2] += 1e-6
    elif change == "dtype":
        x = x.to(torch.float64)
    elif change == "shape":
        x = x.reshape(2, 2)
    elif change == "a key":
        state = {"v": torch.ones(3)}
    elif change == "a number":
        lr = 0.1 + 1e-12
    else:
        x = x.clone().requires_grad_()
    with torch.no_grad():
        oracle(state, x, lr)  # type: ignore[operator]
    assert len(calls) == 2


def test_a_caller_that_changes_the_result_does_not_change_the_next_one() -> None:
    @cached
    def make(n: int) -> torch.Tensor:
        return torch.zeros(n)

    make(3).add_(1)
    assert torch.equal(make(3), torch.zeros(3))


def test_only_the_most_recent_results_are_kept() -> None:
    calls: list[int] = []

    def square(n: int) -> int:
        calls.append(n)
        return n * n

    small = cached(square, size=2)
    for n in (1, 2, 3, 1):
        small(n)
    assert calls == [1, 2, 3, 1]  # 1 was dropped when 3 came
    small(3)
    assert calls == [1, 2, 3, 1]


def test_an_input_that_cannot_be_told_apart_by_content_is_refused() -> None:
    @cached
    def forward(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model(x)

    with pytest.raises(ConfigError, match="state_dict"):
        forward(torch.nn.Linear(2, 2), torch.ones(2))
