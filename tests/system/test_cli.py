"""The command line as people use it: instructors grade, students check, CI validates."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, build_class, run_cli
from grader._course.layout import Course
from grader._course.models import Result


def test_help_lists_the_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for cmd in ("grade", "check", "validate"):
        assert cmd in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["grade", "hw99", ".", "--out", "x"], "no assignment 'hw99'"),
    (["grade", "mfdnn-hw5", "no/such/folder", "--out", "x"], "no such folder of submissions"),
    (["check", "mfdnn-hw5", "no/such/folder"], "no such folder"),
    (["validate"], "give an ASSIGNMENT or --all"),
    (["grade", "mfdnn-hw5", str(ROOT / "examples" / "mfdnn-hw5" / "erin"), "--out", "x"],
     "It holds backprop.py, momentum.py itself: give the folder that holds one folder (or .zip) per student"),
    (["grade", "mfdnn-hw5", ".", "--out", "x", "--gpus", "all"], "--image and --gpus go with --runner docker"),
    (["grade", "mfdnn-hw5", ".", "--out", "x", "--runner", "docker", "--gpus", "two"], "--gpus takes all, a number of GPUs, or none"),
])  # fmt: skip
def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def test_a_broken_rubric_stops_grading_with_its_file_and_field(tmp_path: Path) -> None:
    course = tmp_path / "course"
    for part in ("rubrics", "student_template", "reference"):
        shutil.copytree(ROOT / part / "mfdnn-hw5", course / part / "mfdnn-hw5")
    rubric = course / "rubrics" / "mfdnn-hw5" / "rubric.toml"
    rubric.write_text(rubric.read_text().replace("points = 25", "points = 26", 1))
    (tmp_path / "subs").mkdir()
    proc = run_cli("grade", "mfdnn-hw5", tmp_path / "subs", "--out", tmp_path / "out", "--course", course)
    assert proc.returncode == 2
    assert str(rubric) in proc.stderr and "backprop" in proc.stderr and "26" in proc.stderr


def test_validate_passes_on_the_course_and_fails_on_a_broken_reference(tmp_path: Path) -> None:
    proc = run_cli("validate", "mfdnn-hw5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # memorization needs CUDA: on this CPU its 10 points are skipped, and validate says so
    assert "mfdnn-hw5 reference: 65/75 ok" in proc.stdout and "mfdnn-hw5 template: 0/75 ok" in proc.stdout
    assert "note: memorization: not validated here, it needs a CUDA GPU" in proc.stdout

    course = tmp_path / "course"
    for part in ("rubrics", "student_template", "reference"):
        shutil.copytree(ROOT / part / "mfdnn-hw5", course / part / "mfdnn-hw5")
    ref = course / "reference" / "mfdnn-hw5" / "momentum.py"
    ref.write_text((course / "student_template" / "mfdnn-hw5" / "momentum.py").read_text())
    proc = run_cli("validate", "mfdnn-hw5", "--course", course)
    assert proc.returncode == 1
    assert "mfdnn-hw5 reference: 40/75 INVALID" in proc.stdout
    assert "Not written yet" in proc.stdout
    # the known mistakes of momentum are edits of the reference: they no longer apply, and validate says so
    assert "momentum_" in proc.stdout and "occurs 0 times in reference/mfdnn-hw5/momentum.py" in proc.stdout


def test_grade_writes_results_feedback_and_gradebook(tmp_path: Path) -> None:
    """A class with a folder, a zip, a broken zip and a student missing a file."""
    course = Course.locate(ROOT)
    subs = build_class(course, "mfdnn-hw5", tmp_path / "subs", {"alice": {}, "bob": {"momentum.py": "def heavy_ball(:\n"}})
    (subs / "carol").mkdir()
    shutil.copy(ROOT / "reference" / "mfdnn-hw5" / "backprop.py", subs / "carol" / "backprop.py")
    with zipfile.ZipFile(subs / "dan.zip", "w") as zf:
        zf.write(ROOT / "reference" / "mfdnn-hw5" / "backprop.py", "dan-hw5/backprop.py")
        zf.write(ROOT / "reference" / "mfdnn-hw5" / "momentum.py", "dan-hw5/momentum.py")
    with zipfile.ZipFile(subs / "eve.zip", "w") as zf:
        zf.writestr("../../escape.py", "x = 1")
    out = tmp_path / "out"
    proc = run_cli("grade", "mfdnn-hw5", subs, "--out", out, "--seed", "7")
    assert proc.returncode == 0, proc.stderr
    results = {p.parent.name: Result.load(p) for p in out.glob("*/result.json")}
    assert set(results) == {"alice", "bob", "carol", "dan", "eve"}
    score = {s: {p.id: p.score for p in r.problems} for s, r in results.items()}
    # memorization needs CUDA: skipped here, 0 points for everyone; dan's zip has no bottleneck.py
    assert score["alice"] == {"backprop": 25, "momentum": 25, "bottleneck": 15, "memorization": 0}
    assert score["dan"] == {"backprop": 25, "momentum": 25, "bottleneck": 0, "memorization": 0}
    assert score["bob"] == {"backprop": 25, "momentum": 0, "bottleneck": 15, "memorization": 0}
    assert score["carol"] == {"backprop": 25, "momentum": 0, "bottleneck": 0, "memorization": 0}
    assert {t.outcome for s in ("alice", "bob") for t in results[s].tests if t.problem == "memorization"} == {"skipped"}
    assert {t.outcome for t in results["carol"].tests if t.problem == "memorization"} == {"missing"}  # not there at all
    assert {t.outcome for t in results["bob"].tests if t.problem == "momentum"} == {"error"}
    assert any("SyntaxError" in t.output and "line 1" in t.output for t in results["bob"].tests)
    assert {t.outcome for t in results["carol"].tests if t.problem == "momentum"} == {"missing"}
    assert {t.outcome for t in results["eve"].tests} == {"missing"}
    assert "unsafe path" in results["eve"].tests[0].output
    assert not (tmp_path / "escape.py").exists() and not (out / "escape.py").exists()
    for r in results.values():  # the SPEC's result format: scores add up, ids are the rubric's
        assert r.score == sum(t.score for t in r.tests) == sum(p.score for p in r.problems)
        assert r.seed == 7 and r.mode == "grade"
        assert (out / r.student / "feedback.html").read_text().count("<html") == 1
    raw = json.loads((out / "alice" / "result.json").read_text())
    assert {"assignment", "student", "score", "max_score", "execution_time", "problems", "tests"} <= set(raw)
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol", "dan", "eve"]
    assert rows[1] == {"student": "bob", "backprop": "25.0", "momentum": "0.0", "bottleneck": "15.0", "memorization": "0.0",
                       "score": "40.0", "max_score": "75.0", "diagnosis": ""}
    assert "bob" in proc.stdout and "feedback.html" in proc.stdout

    # The class summary, and `grader report`, which re-makes every page from the results alone.
    summary = (out / "summary.html").read_text()
    assert "5 students" in summary and "file not submitted <b>2</b>" in summary  # carol's and eve's momentum
    assert "Importing momentum.py failed: SyntaxError" in summary and ">bob<" in summary.replace(" ", "")
    (out / "alice" / "feedback.html").unlink()
    (out / "summary.html").unlink()
    gradebook = (out / "gradebook.csv").read_text()
    (out / "gradebook.csv").write_text("stale")
    again = run_cli("report", out)
    assert again.returncode == 0, again.stderr
    assert (out / "alice" / "feedback.html").is_file() and (out / "summary.html").read_text() == summary
    assert (out / "gradebook.csv").read_text() == gradebook
    empty = run_cli("report", tmp_path)
    assert empty.returncode == 2 and "no <student>/result.json in it" in empty.stderr


def test_check_runs_public_tests_only_and_exits_1_on_a_failure(tmp_path: Path) -> None:
    mine = tmp_path / "hw5"
    shutil.copytree(ROOT / "reference" / "mfdnn-hw5", mine)
    proc = run_cli("check", "mfdnn-hw5", ".", cwd=mine)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Public tests: 54/61" in proc.stdout  # memorization's 7 public points need CUDA:
    assert "SKIP: Not graded here: memorization needs a CUDA GPU" in proc.stdout  # skipped, not failed
    assert "hidden" not in proc.stdout.lower().split("public tests")[0]  # no hidden test is listed
    page = (mine / "feedback.html").read_text()
    assert "test_hidden_networks" not in page and "deeper, wider" not in page

    (mine / "momentum.py").write_text((ROOT / "student_template" / "mfdnn-hw5" / "momentum.py").read_text())
    proc = run_cli("check", "mfdnn-hw5", ".", cwd=mine)
    assert proc.returncode == 1
    assert "ERROR" in proc.stdout and "Not written yet" in proc.stderr


def test_a_submission_cannot_use_more_than_its_total_time(tmp_path: Path) -> None:
    """Each test has its timeout, and the submission as a whole has one too (--submission-seconds)."""
    course = Course.locate(ROOT)
    # 4 s of CPU per call (limits count CPU time: a sleep would cost the student nothing).
    slow = (ROOT / "reference" / "mfdnn-hw5" / "backprop.py").read_text() + "\nimport time as _t\n_orig = backprop\n" \
        "def backprop(*a):\n    _end = _t.process_time() + 4\n    while _t.process_time() < _end:\n        pass\n    return _orig(*a)\n"
    subs = build_class(course, "mfdnn-hw5", tmp_path / "subs", {"slowpoke": {"backprop.py": slow}})
    proc = run_cli("grade", "mfdnn-hw5", subs, "--out", tmp_path / "out", "--problem", "backprop", "--submission-seconds", "10")
    assert proc.returncode == 0, proc.stderr
    result = Result.load(tmp_path / "out" / "slowpoke" / "result.json")
    outcomes = [t.outcome for t in result.tests]
    assert outcomes[0] == "passed" and outcomes[-1] == "timeout", outcomes
    first = next(i for i, o in enumerate(outcomes) if o != "passed")  # the test during which the 10 s ran out
    assert first >= 1 and outcomes[first] == "timeout", outcomes
    cut, skipped = result.tests[first].output, result.tests[-1].output
    assert "did not finish" in cut and "All tests of a submission together may use 10 s" in cut
    assert skipped.startswith("Not run: your code had already used all 10 s")


def fake_fashion_mnist(root: Path, n_test: int = 100, n_train: int = 8) -> Path:
    """A FashionMNIST folder as torchvision reads it (raw idx files, no download), with random images."""
    import struct

    import torch

    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    gen = torch.Generator().manual_seed(0)
    for split, n in (("t10k", n_test), ("train", n_train)):
        pixels = torch.randint(0, 256, (n, 28, 28), generator=gen, dtype=torch.uint8)
        labels = torch.randint(0, 10, (n,), generator=gen, dtype=torch.uint8)
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x0803, n, 28, 28) + pixels.numpy().tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x0801, n) + labels.numpy().tobytes())
    return root


def test_data_points_the_checks_at_fashion_mnist(tmp_path: Path) -> None:
    """--data DIR: data598-hw3 grades on DIR's FashionMNIST test images (the failure message of a
    wrong submission names them), and stops before grading anyone when DIR holds none."""
    course = Course.locate(ROOT)
    data = fake_fashion_mnist(tmp_path / "data")
    ref = (ROOT / "reference" / "data598-hw3" / "convnets.py").read_text()
    old = "model.eval()\n        g0 = _full_gradient("
    assert ref.count(old) == 1
    wrong = ref.replace(old, "model.train()\n        g0 = _full_gradient(")  # full gradients in train mode
    subs = build_class(course, "data598-hw3", tmp_path / "subs", {"right": {}, "wrong": {"convnets.py": wrong}})
    out = tmp_path / "out"
    proc = run_cli("grade", "data598-hw3", subs, "--out", out, "--seed", "3", "--data", data)
    assert proc.returncode == 0, proc.stderr
    right, wrong_result = Result.load(out / "right" / "result.json"), Result.load(out / "wrong" / "result.json")
    assert right.score == right.max_score == 40, [(t.name, t.output) for t in right.tests if t.outcome != "passed"]
    failed = {t.test: t.output for t in wrong_result.tests if t.outcome != "passed"}
    assert set(failed) == {"test_effective_smoothness", "test_hidden_cases"}, failed
    assert "the first 100 FashionMNIST test images" in failed["test_effective_smoothness"]

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("grade", "data598-hw3", subs, "--out", tmp_path / "out2", "--data", empty)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"--data {empty}: no FashionMNIST test set could be read there" in proc.stderr, proc.stderr
    assert not list((tmp_path / "out2").glob("*/result.json"))  # nobody is graded under a broken setup
    proc = run_cli("grade", "data598-hw3", subs, "--out", tmp_path / "out3", "--data", tmp_path / "nowhere")
    assert proc.returncode == 2 and "does not exist" in proc.stderr, proc.stderr

    mine = tmp_path / "mine"
    shutil.copytree(ROOT / "reference" / "data598-hw3", mine)
    proc = run_cli("check", "data598-hw3", ".", "--data", data, cwd=mine)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Public tests: 34/34" in proc.stdout


def test_check_says_what_to_do_for_misnamed_missing_and_unimportable_files(tmp_path: Path) -> None:
    """Issue 15, items 7 to 9: a misnamed file is named in a "did you mean", a missing module
    says what the grader has, each cause is told once, the rerun command is printed, and an
    empty folder or a file given instead of a folder is refused at once."""
    mine = tmp_path / "hw5"
    mine.mkdir()
    shutil.copyfile(ROOT / "reference" / "mfdnn-hw5" / "momentum.py", mine / "momentum (1).py")
    (mine / "backprop.py").write_text("import matplotlib.pyplot as plt\n")
    proc = run_cli("check", "mfdnn-hw5", ".", "--problem", "backprop", "--problem", "momentum", "--seed", "5", cwd=mine)
    assert proc.returncode == 1
    assert "momentum.py was not found in this folder" in proc.stderr and "did you mean momentum (1).py?" in proc.stderr
    assert "The grader has only torch, torchvision, numpy" in proc.stderr
    assert proc.stderr.count("No module named 'matplotlib'") == 2  # once told (message and traceback line), then "the same as above"
    assert "(the same as above)" in proc.stderr
    assert "grader check mfdnn-hw5 . --seed 5 --problem backprop --problem momentum" in proc.stdout
    assert "grader check mfdnn-hw5 . --seed 5 --problem backprop --problem momentum" in (mine / "feedback.html").read_text()
    assert "bottleneck" not in proc.stdout  # only the problems asked for
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("check", "mfdnn-hw5", str(empty))
    assert proc.returncode == 2 and "holds none of this assignment's files" in proc.stderr
    proc = run_cli("check", "mfdnn-hw5", str(mine / "backprop.py"))
    assert proc.returncode == 2 and "is a file; give the folder" in proc.stderr


def _line(name: str, problem: str, outcome: str, output: str = "", visibility: str = "visible"):  # type: ignore[no-untyped-def]
    from grader._course.models import TestResult

    return TestResult(name=f"{problem}: {name}", problem=problem, status="passed" if outcome == "passed" else "failed",
                      outcome=outcome, score=5.0 if outcome == "passed" else 0.0, max_score=5.0,  # type: ignore[arg-type]
                      visibility=visibility, output=output, test="test_x")  # type: ignore[arg-type]  # fmt: skip


def test_check_tells_each_message_once_per_problem(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15, item 7: a message several tests share (two stubs not written yet, here in
    turn) is printed once; a later test points back to it; a skip's reason waits for the end."""
    from grader.cli import _progress

    stub_a = 'Not written yet: Write heavy_ball.\n  File "momentum.py", line 44, in heavy_ball'
    stub_b = 'Not written yet: Write velocity_momentum.\n  File "momentum.py", line 67, in velocity_momentum'
    on_test = _progress(True).on_test
    for t in [_line("one", "momentum", "error", stub_a), _line("two", "momentum", "error", stub_a),
              _line("three", "momentum", "error", stub_b), _line("four", "momentum", "error", stub_a),
              _line("five", "momentum", "error", stub_b), _line("six", "gpu", "skipped", "needs a CUDA GPU"),
              _line("seven", "gpu", "skipped", "needs a CUDA GPU")]:  # fmt: skip
        on_test("me", t)
    err = capsys.readouterr().err
    assert err.count("Write heavy_ball.") == 1 and err.count("Write velocity_momentum.") == 1
    assert err.count('line 44, in heavy_ball') == 1
    lines = err.splitlines()
    after = {lines[i - 1].split(": ", 1)[-1]: lines[i].strip() for i in range(1, len(lines)) if lines[i].strip().startswith("(the same")}
    assert after == {
        "momentum: two": "(the same as above)",
        "momentum: four": "(the same as under \u201cmomentum: one\u201d above)",
        "momentum: five": "(the same as under \u201cmomentum: three\u201d above)",
    }
    assert "needs a CUDA GPU" not in err  # told once, under the table ("SKIP: ...")


def test_report_prints_the_pass_rate_of_every_test(tmp_path: Path) -> None:
    """Issue 15, item 10: `grader report` says how many students passed each test, in rubric
    order, hidden tests included, a missing file counted apart."""
    from click.testing import CliRunner

    from grader._course.models import ProblemResult
    from grader.cli import cli

    def result(student: str, a: str, b: str, c: str) -> Result:
        tests = [_line("first", "p1", a, "wrong"), _line("hidden one", "p1", b, "wrong", "hidden"),
                 _line("other", "p2", c, "f.py was not submitted.")]  # fmt: skip
        score = sum(t.score for t in tests)
        return Result(assignment="hw", student=student, score=score, max_score=15.0, execution_time=1.0, tests=tests,
                      problems=[ProblemResult(id="p1", score=sum(t.score for t in tests[:2]), max_score=10.0),
                                ProblemResult(id="p2", score=tests[2].score, max_score=5.0)])  # fmt: skip

    for r in [result("ann", "passed", "passed", "passed"), result("bob", "passed", "failed", "missing"),
              result("cy", "error", "failed", "missing")]:  # fmt: skip
        (tmp_path / r.student).mkdir()
        (tmp_path / r.student / "result.json").write_text(r.model_dump_json())
    out = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Pass rate per test"))
    assert lines[at + 1 : at + 4] == [
        "   67%  2/3  p1: first",
        "   33%  1/3  p1: hidden one [hidden]",
        "  100%  1/1  p2: other  (2 missing)",
    ]
    assert "Pass rate per test" in (tmp_path / "summary.html").read_text()
