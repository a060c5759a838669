"""Issue 27: the helpers that keep one fault from hiding another (``all_faults``, ``close_all``)
and a small quantity from hiding under a large one's tolerance (``Tolerance.of_each``), and
the sentences ``input_changes`` makes of a driver's ``keep`` report. No worker: plain values."""

from __future__ import annotations

import pytest
import torch

from grader._exceptions import NotWritten, StudentError, WorkerTimeout, WrongAnswer
from grader.checks import CheckFailed, Tolerance, all_faults, close, close_all, input_changes


def test_each_part_s_fault_is_said_though_an_earlier_one_failed() -> None:
    with pytest.raises(StudentError) as info:
        with all_faults() as faults:
            with faults.part():
                raise StudentError("heavy_ball on the quadratic objective: your code raised ValueError")
            with faults.part():
                raise CheckFailed("velocity_momentum modified theta0")
            faults.that(True, "never said")
            faults.that(False, "and a third")
    # the first fault's kind (code that raised: an error), every message, in order
    assert str(info.value) == ("heavy_ball on the quadratic objective: your code raised ValueError\n\n"
                               "velocity_momentum modified theta0\n\nand a third")


def test_one_fault_is_raised_as_it_is_and_none_passes() -> None:
    with all_faults() as faults:
        with faults.part():
            pass
        faults.that(True, "fine")
    original = WrongAnswer("nu should return a tensor")
    with pytest.raises(WrongAnswer) as info:
        with all_faults() as faults:
            with faults.part():
                raise original
    assert info.value is original


def test_the_same_message_is_said_once_and_a_stub_stays_not_written() -> None:
    with pytest.raises(NotWritten) as info:
        with all_faults() as faults:
            for _ in range(3):
                with faults.part():
                    raise NotWritten("Not written yet: write nu(x, beta)")
            with faults.part():
                raise NotWritten("Not written yet: write grad_nu(x, beta)")
    assert str(info.value) == "Not written yet: write nu(x, beta)\n\nNot written yet: write grad_nu(x, beta)"


def test_a_timeout_ends_the_test_and_what_was_found_before_is_said_with_it() -> None:
    with pytest.raises(WorkerTimeout) as info:
        with all_faults() as faults:
            with faults.part():
                raise CheckFailed("clip_by_norm changed its input")
            with faults.part():
                raise WorkerTimeout("Your code used up this test's 10 s")
            raise AssertionError("not reached: a timeout is not a part's fault")
    assert str(info.value) == "clip_by_norm changed its input\n\nYour code used up this test's 10 s"


def test_a_tolerance_of_each_tensor_sees_a_small_layer_that_one_shared_scale_hides() -> None:
    """The homework's backprop example: the first layer's gradients are about 1e-5, the last
    layer's about 1. A first layer of zeros passed 1e-4 times the largest gradient of all."""
    first, last = torch.full((4, 4), 3e-5), torch.full((1, 4), 1.2)
    got = [torch.zeros_like(first), last.clone()]
    shared = Tolerance(rtol=1e-4, atol=1e-4 * 1.2, why="scaled to the largest gradient of all layers")
    close_all(got, [first, last], what="dA_list", item="dA_list[{i}]", tol=shared)  # the fault this issue is about
    each = Tolerance.of_each(rtol=1e-4, of_largest=1e-4, why="float32 arithmetic")
    with pytest.raises(CheckFailed) as info:
        close_all(got, [first, last], what="dA_list", item="dA_list[{i}]", tol=each)
    assert "Compared: dA_list: dA_list[0]" in str(info.value)
    assert "atol is 1e-04 times this tensor's largest |entry|, 3e-05" in str(info.value)
    close_all([first * (1 + 1e-6), last * (1 + 1e-6)], [first, last], what="dA_list", item="dA_list[{i}]", tol=each)
    close(torch.zeros(3), torch.zeros(3), what="zeros", tol=each)  # a zero tensor: its scale is 0, equal is equal


def test_close_all_names_every_item_that_is_off() -> None:
    expected = [torch.ones(3), torch.ones(2), torch.ones(4)]
    got = [torch.ones(3) * 2, torch.ones(2), torch.zeros(4)]
    with pytest.raises(CheckFailed) as info:
        close_all(got, expected, what="iterates", item="iterate theta^{i}", tol=Tolerance.default(torch.float32))
    text = str(info.value)
    assert text.startswith("Compared: iterates: iterate theta^0\nMismatched elements: 3 / 3")
    assert "Also off (1 more of the 3):\n  iterate theta^2: Mismatched elements: 4 / 4 (100.0%)" in text
    assert "theta^1" not in text


def test_input_changes_says_what_the_call_did_to_each_input() -> None:
    sent = {"x": torch.arange(4.0), "ws": [torch.ones(2), torch.zeros(3)], "net": {"fc.weight": torch.ones(2, 2)}}
    report = {
        "memory": {"x": torch.tensor([0.0, 1.0, 9.0, 3.0]), "ws": [torch.ones(2), "its storage was freed"],
                   "net": {"fc.weight": torch.ones(2, 2)}},
        "held": {"x": None, "ws": [torch.ones(3), None], "net": {"fc.weight": None}},
        "moved": [{"path": ["ws"], "kind": "list", "length": [2, 2], "replaced": [1], "removed": [], "added": []},
                  {"path": ["net"], "kind": "module", "length": [1, 1], "replaced": [], "removed": ["fc.bias"], "added": []}],
    }
    assert input_changes(sent, report) == [
        "x was changed in place: 1 of 4 entries differ, by up to 7.",
        "ws[0], the tensor the caller holds, was given other memory (its shape is (3,), it was (2,)): assigning to "
        "its .data, .set_() or .resize_() changes the caller's tensor too.",
        "ws[1]: the memory it had can no longer be read (its storage was freed); leave the inputs as they are.",
        "The caller's list ws was changed: item 1 replaced by other objects. Leave the inputs as they are (make new ones).",
        "The caller's module net was changed: tensor fc.bias removed. Leave the inputs as they are (make new ones).",
    ]
    nan = {"x": torch.tensor([float("nan"), 1.0])}
    assert input_changes(nan, {"memory": {"x": torch.tensor([float("nan"), 1.0])}, "held": {"x": None}}) == []
    x64 = torch.arange(4.0, dtype=torch.float64)
    near = {"memory": {"x": torch.tensor([0.0, 1.0 + 1e-13, 2.0, 3.0], dtype=torch.float64)}, "held": {"x": None}}
    assert input_changes({"x": x64}, near) == ["x was changed in place: 1 of 4 entries differ, by up to 9.99e-14."]
    assert input_changes({"x": x64}, near, Tolerance(rtol=1e-12, atol=1e-14, why="rounding")) == []


def test_a_near_miss_prints_two_different_numbers() -> None:
    """A relative error of 1e-7 in float64 (outside a 1e-9 tolerance) printed with six digits
    read "got -4.58093, expected -4.58093": the numbers get the digits that tell them apart."""
    expected = torch.tensor([-4.58093012345, 1.0], dtype=torch.float64)
    got = expected * torch.tensor([1 + 1e-7, 1.0], dtype=torch.float64)
    with pytest.raises(CheckFailed) as info:
        close(got, expected, what="a near miss", tol=Tolerance(rtol=1e-9, atol=0.0, why="tight"))
    message = str(info.value)
    lines = [line for line in message.splitlines() if "allowed): got " in line]
    assert len(lines) == 2, message
    for line in lines:
        got_s, expected_s = line.split("got ")[1].split(", expected ")
        assert float(got_s) != float(expected_s), line
        assert len(got_s.lstrip("-").replace(".", "")) <= 9, line  # no more digits than it takes
    # equal numbers (an entry that is right, shown beside a wrong one) keep six digits
    with pytest.raises(CheckFailed) as info:
        close(torch.tensor([2.0, 1.0]), torch.tensor([1.0, 1.0]), what="off", tol=Tolerance(rtol=0.0, atol=0.0, why="exact"))
    assert "got 2, expected 1" in str(info.value)


def test_a_complex_answer_to_a_real_question_fails_whatever_its_real_part() -> None:
    """Read as float64 a complex answer kept only its real part: a right real part with an
    imaginary part of 1e6 passed (found by an attacker of the diagnosis, issue 31)."""
    import pytest
    import torch

    from grader.checks import CheckFailed, Tolerance, close

    expected = torch.tensor([1.0, 2.0])
    with pytest.raises(CheckFailed, match="got complex ones"):
        close(torch.complex(expected, torch.tensor([1e6, 0.0])), expected, what="w", tol=Tolerance(rtol=1e-6, atol=0.0, why="t"), check_dtype=False)
    with pytest.raises(CheckFailed, match="got complex ones"):
        close(expected.to(torch.complex64), expected, what="w", tol=Tolerance(rtol=1e-6, atol=0.0, why="t"), check_dtype=False)


def test_a_tolerance_scaled_to_the_largest_entry_reads_bool_and_integer_answers() -> None:
    """abs() refuses bool tensors: a mask or a count compared with ``of_largest`` was a
    NotImplementedError on the trusted side (noticed by a helper) instead of a verdict."""
    tol = Tolerance.of_each(rtol=1e-5, of_largest=1e-7, why="a mask")
    mask = torch.tensor([True, False, True])
    close(mask.clone(), mask, what="the mask", tol=tol)
    close(torch.tensor([1.0, 0.0, 1.0]), mask, what="the mask", tol=tol, check_dtype=False)
    with pytest.raises(CheckFailed, match="the mask"):
        close(torch.tensor([True, True, True]), mask, what="the mask", tol=tol)
    close(torch.tensor([3, -4]), torch.tensor([3, -4]), what="counts", tol=tol)
    with pytest.raises(CheckFailed, match="counts"):
        close(torch.tensor([3, 4]), torch.tensor([3, -4]), what="counts", tol=tol)
