"""The course material itself: checkpoint, given code, templates and sample classes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import ROOT, grade_class
from grader._course.layout import Course

HW7 = ROOT / "student_template" / "mfdnn-hw7"


def test_the_checkpoint_script_reproduces_the_shipped_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "smallNetSaved"
    subprocess.run([sys.executable, str(ROOT / "reference" / "mfdnn-hw7" / "make_smallnet_checkpoint.py"), "--out", str(out)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    made = torch.load(out, weights_only=True)
    shipped = torch.load(HW7 / "smallNetSaved", weights_only=True)
    assert made.keys() == shipped.keys()
    # Bit for bit on one machine; across CPUs, float64 BLAS kernels (AVX2 vs AVX-512) may sum
    # in another order, which can move an entry that sits on a float32 rounding boundary by
    # one ulp when the result is cast. More than that means the script or the file changed.
    for k in made:
        a, b = made[k], shipped[k]
        if a.is_floating_point():
            ulps = ((a.double() - b.double()).abs() / torch.finfo(b.dtype).eps / b.double().abs().clamp_min(1e-30))
            off = int((a != b).sum())
            assert ulps.max() <= 1.0 and off <= max(1, a.numel() // 10_000), (
                f"{k} differs in {off} entries, by up to {ulps.max():.3g} ulp: the script is not deterministic or the file is stale")
        else:
            assert torch.equal(a, b), f"{k} differs: the script is not deterministic or the file is stale"


def test_the_checkpoint_has_non_trivial_batchnorm() -> None:
    state = torch.load(HW7 / "smallNetSaved", weights_only=True)
    for bn in ("bn1", "bn2", "bn3"):
        mean, var = state[f"{bn}.running_mean"], state[f"{bn}.running_var"]
        assert mean.abs().min() > 0 and mean.std() > 0.01, f"{bn}: running_mean is trivial"
        assert (var - 1).abs().max() > 0.1 and var.std() > 0.01, f"{bn}: running_var is trivial"
        assert (state[f"{bn}.weight"] - 1).abs().max() > 0.05 and state[f"{bn}.bias"].abs().max() > 0.05
        assert int(state[f"{bn}.num_batches_tracked"]) > 0


def _given(path: Path) -> dict[str, str]:
    """Top-level classes and functions that the student does not write (no NotImplementedError stub)."""
    tree = ast.parse(path.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            stub = any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.dump(n) for n in ast.walk(node))
            if not stub and not node.name.startswith("_"):
                out[node.name] = ast.dump(node)
    return out


@pytest.mark.parametrize("assignment", ["mfdnn-hw5", "mfdnn-hw7"])
def test_given_code_is_the_same_in_template_and_reference(course: Course, assignment: str) -> None:
    a = course.assignment(assignment)
    for f in a.student_files:
        template, reference = _given(a.template_dir / f), _given(a.reference_dir / f)
        for name, tree in template.items():
            assert reference.get(name) == tree, f"{f}: {name} differs between the template and the reference"


def test_templates_run_nothing_on_import(course: Course) -> None:
    for a in course.assignment_ids():
        asg = course.assignment(a)
        for f in asg.student_files:
            proc = subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(asg.template_dir / f)!r}, run_name='imported')"],
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            assert proc.returncode == 0 and not proc.stdout, f"{a}/{f} does something when imported: {proc.stdout[:300]}{proc.stderr[-300:]}"


def test_the_hw5_sample_class_scores_as_its_readme_says(tmp_path: Path) -> None:
    results = grade_class(ROOT / "examples" / "mfdnn-hw5", tmp_path, "mfdnn-hw5")
    by = {s: {p["id"]: p["score"] for p in r["problems"]} for s, r in results.items()}
    outcomes = {s: {t["test"]: t["outcome"] for t in r["tests"]} for s, r in results.items()}
    later = {"bottleneck": 0, "memorization": 0}  # not handed in: missing
    assert by["erin"] == {"backprop": 25, "momentum": 25, **later}
    assert {outcomes["erin"][t.name] for p in later for t in Course.locate(ROOT).assignment("mfdnn-hw5").rubric.problem(p).tests} == {"missing"}
    assert by["frank"]["backprop"] == 25 and by["frank"]["momentum"] == 10  # Form I and theta0 only
    assert outcomes["grace"]["test_homework_example_weights"] == outcomes["grace"]["test_homework_example_biases"] == "passed"
    assert outcomes["grace"]["test_random_networks_weights"] == outcomes["grace"]["test_random_networks_biases"] == "error"
    assert outcomes["grace"]["test_no_autograd"] == "passed"  # her crash is the value tests' to charge, not the by-hand rule's
    assert outcomes["grace"]["test_heavy_ball_matches_sgd"] == "timeout"
    assert by["heidi"] == {"backprop": 0, "momentum": 0, **later}


FULL_MARKS = "eve"  # the one student of examples/mfdnn-hw7 who hands in every problem, all right


def test_the_hw7_sample_class_bn_remove(tmp_path: Path) -> None:
    results = grade_class(ROOT / "examples" / "mfdnn-hw7", tmp_path, "mfdnn-hw7", "--problem", "bn_remove")
    score = {s: r["score"] for s, r in results.items()}
    assert score == {"alice": 25, "bob": 25, "carol": 0, "dave": 0, FULL_MARKS: 25}, [
        (s, t["test"], t["outcome"], t["output"][:400]) for s, r in results.items() for t in r["tests"]
        if t["outcome"] != "passed" and s in ("alice", "bob", FULL_MARKS)]
    carol = results["carol"]["tests"][0]
    assert carol["outcome"] == "error" and "SyntaxError" in carol["output"] and "line" in carol["output"]


def test_the_hw7_sample_class_later_problems(course: Course, tmp_path: Path) -> None:
    """Four of the sample students hand in bn_remove.py and LNiN.py only: every other problem
    of the rubric is `missing` for each of them, and scores 0; eve hands in every file and
    scores full marks on those problems, every test passed (as examples/mfdnn-hw7/README.md says)."""
    a = course.assignment("mfdnn-hw7")
    sample = ROOT / "examples" / "mfdnn-hw7"
    assert {f.name for f in (sample / FULL_MARKS).glob("*.py")} == set(a.student_files)
    handed_in = {f.name for f in sample.glob("*/*.py") if f.parent.name != FULL_MARKS}
    later = [p for p in a.rubric.problems if p.file not in handed_in]
    assert later, "the other students hand in every problem: this test has nothing to check"
    results = grade_class(sample, tmp_path, "mfdnn-hw7", *[arg for p in later for arg in ("--problem", p.id)])
    assert set(results) == {d.name for d in sample.iterdir() if d.is_dir()}
    for student, r in results.items():
        assert r["max_score"] == sum(p.points for p in later), student
        assert {t["problem"] for t in r["tests"]} == {p.id for p in later}, student
        if student == FULL_MARKS:
            assert r["score"] == r["max_score"], [(t["test"], t["outcome"], t["output"][:300]) for t in r["tests"]]
            assert {t["outcome"] for t in r["tests"]} == {"passed"}
            continue
        assert r["score"] == 0, student
        for t in r["tests"]:
            file = a.rubric.problem(t["problem"]).file
            assert t["outcome"] == "missing" and f"{file} was not submitted" in t["output"], (student, t["test"], t["output"][:200])


def test_every_problem_of_hw7_is_graded_for_the_full_marks_student(course: Course) -> None:
    """bn_remove and the problems of every other sample student above; lnin (a 340M-parameter
    Net1 on a CPU) in lnin's known-mistakes class, graded once per run
    (tests/system/test_known_mistakes.py::test_the_hw7_full_marks_student_gets_full_marks_on_lnin_too)."""
    from test_known_mistakes import FULL_MARKS as graded_there, SAMPLE_IN_CLASS

    a = course.assignment("mfdnn-hw7")
    covered = {"bn_remove", SAMPLE_IN_CLASS[1]} | {p.id for p in a.rubric.problems
                                                  if p.file not in {f.name for f in (ROOT / "examples" / "mfdnn-hw7").glob("*/*.py")
                                                                    if f.parent.name != FULL_MARKS}}
    assert graded_there == FULL_MARKS and SAMPLE_IN_CLASS[0] == "mfdnn-hw7"
    assert covered == {p.id for p in a.rubric.problems}, "a problem of the rubric is not graded for eve by these tests"
    assert all(p.needs != "cuda" for p in a.rubric.problems), "a problem needs CUDA: full marks cannot be checked on a CPU"


def test_the_count_ops_driver_builds_the_templates_alexnet(course: Course) -> None:
    """The graded AlexNet is the driver's own copy (a student's file could change the given one):
    it must be the template's, layer for layer, and compute the same function."""
    from grader import load_driver

    a = course.assignment("mfdnn-hw7")
    driver = load_driver(a.rubric_dir / "drivers" / "count_ops.py")
    import importlib.util

    spec = importlib.util.spec_from_file_location("_template_count_ops", a.template_dir / "count_ops.py")
    assert spec and spec.loader
    template = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(template)
    ours, given = driver.build("alexnet", (3, 227, 227)), template.AlexNet()
    assert [repr(m) for m in ours.modules()][1:] == [repr(m) for m in given.modules()][1:]
    given.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 227, 227, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(ours.eval()(x), given.eval()(x))


SEED_004 = ROOT.parent / "shared" / "seeds" / "004_33f593ea01895d4d.txt"  # the text of data598-hw3


@pytest.mark.skipif(not SEED_004.is_file(), reason="../shared/seeds/ is not beside this checkout")
def test_data598_networks_have_the_homeworks_parameter_counts(course: Course) -> None:
    """The seed states the layers, not their parameter count: compute the count from the
    numbers it prints (5x5 kernels with padding 2, 16 then 32 filters, 1 x 28 x 28 images,
    10 classes) and compare it with the reference's networks, the grader's own (the driver's
    build) and the figures the template's README and docstring quote (28,938 and 29,034)."""
    import re

    from grader import load_driver

    text = SEED_004.read_text()
    k, pad = map(int, re.search(r"kernel size of (\d+), and a padding of (\d+)", text).groups())  # type: ignore[union-attr]
    first = int(re.search(r"number of filters \(here, (\d+)\)", text).group(1))  # type: ignore[union-attr]
    bonus = [tuple(map(int, m)) for m in re.findall(r"k = (\d+), \\text\{#filters\} = (\d+), \\text\{padding=(\d+)", text)]
    assert [f for _, f, _ in bonus][:1] == [first] and {(kk, p) for kk, _, p in bonus} == {(k, pad)}, bonus
    c1, c2 = (f for _, f, _ in bonus)
    side = int(re.search(r"1 \\times (\d+) \\times \1", text).group(1))  # type: ignore[union-attr]
    classes = int(re.search(r"score for (\d+) output classes", text).group(1))  # type: ignore[union-attr]
    pool = 2  # the diagram's pooling size did not survive; stride 2 replaces conv + pool in the bonus
    for _ in range(2):
        side = (side + 2 * pad - k + 1) // pool
    convnet = (1 * c1 * k * k + c1) + (c1 * c2 * k * k + c2) + (c2 * side * side * classes + classes)
    with_bn = convnet + 2 * (c1 + c2)  # a scale and a shift per channel

    a = course.assignment("data598-hw3")
    ref = load_driver(a.reference_dir / "convnets.py", "_data598_reference")
    driver = load_driver(a.rubric_dir / "drivers" / "convnets.py", "_data598_driver")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert (count(ref.ConvNet()), count(ref.ConvNet(batch_norm=True)), count(ref.StridedConvNet())) == (convnet, with_bn, convnet)
    assert [count(driver.build(n)) for n in ("convnet", "convnet_bn", "strided")] == [convnet, with_bn, convnet]
    for doc in (a.template_dir / "README.md", a.template_dir / "convnets.py", a.reference_dir / "convnets.py"):
        assert f"{convnet:,}" in doc.read_text() and f"{with_bn:,}" in doc.read_text(), doc
    # the bonus: the strided network's second convolution and linear layer get ConvNet's input shapes
    x = torch.zeros(2, 1, 28, 28)
    inputs = lambda m: [(c[0], c[1]) for c in driver.trace(m, x)["calls"] if c[0] in ("Conv2d", "Linear")]  # noqa: E731
    pooled, strided = inputs(ref.ConvNet()), inputs(ref.StridedConvNet())
    assert strided == pooled and len(pooled) == 3, (strided, pooled)
