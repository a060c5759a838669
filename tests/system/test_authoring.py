"""Issue 16: another course authors its own homework with the installed grader.

`grader new` scaffolds a course whose validate runs at once and lists what is left to
write; a function-only problem needs no driver (``submission.function``); hidden checks
live apart, so `grader release` gives students only the public ones, searched for
anything hidden; and the released folder self-checks with the grader installed from the
wheel it ships, in a fresh virtual environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, fresh_venv, run_cli
from grader._course.layout import Course
from grader._exceptions import ConfigError

GRADER = [sys.executable, "-m", "grader"]


def grader(*args: object, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADER, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def scaffold(tmp: Path) -> Path:
    """A course made with `grader new` only: hw1 with a function problem and a module problem."""
    course = tmp / "course"
    for args, cwd in [(("new", "course", course, "--title", "Toy course"), tmp),
                      (("new", "assignment", "hw1", "--problem", "double"), course),
                      (("new", "problem", "hw1", "net", "--kind", "module"), course)]:
        proc = grader(*args, cwd=cwd)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return course


def fill_in(course: Path) -> None:
    """What the instructor writes: here, only the placeholders' markers go (their code runs as it is)."""
    for path in course.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".toml", ".md"):
            path.write_text(path.read_text(encoding="utf-8").replace("TODO(grader new):", "").replace("TODO(grader new)", ""),
                            encoding="utf-8")


def test_grader_new_scaffolds_a_course_that_validates_at_once_and_says_what_is_left(tmp_path: Path) -> None:
    course = scaffold(tmp_path)
    for rel in ["course.toml", "rubrics/hw1/rubric.toml", "rubrics/hw1/mistakes.toml", "rubrics/hw1/test_double.py",
                "rubrics/hw1/hidden/test_double.py", "student_template/hw1/double.py", "reference/hw1/double.py",
                "rubrics/hw1/drivers/net.py", "rubrics/hw1/test_net.py", "rubrics/hw1/hidden/test_net.py"]:
        assert (course / rel).is_file(), rel
    assert not (course / "rubrics/hw1/drivers/double.py").exists()  # a function problem has no driver

    proc = grader("validate", "hw1", cwd=course / "rubrics")  # found by walking up to course.toml
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    # Everything ran for real: the placeholders agree, so the reference scores, the template
    # does not, and each known mistake fails exactly its checks.
    assert "hw1 reference: 20/20 INVALID" in out, out
    assert "hw1 template: 0/20 ok" in out and "known mistakes: 3/3 fail exactly their checks ok" in out, out
    todo = re.findall(r"still to write: (\S+?):\d+: ", out)
    assert {"rubrics/hw1/test_double.py", "reference/hw1/double.py", "rubrics/hw1/drivers/net.py",
            "rubrics/hw1/hidden/test_net.py", "student_template/hw1/README.md"} <= set(todo), out

    fill_in(course)
    proc = grader("validate", "hw1", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "still to write" not in proc.stdout

    # It never overwrites, and it says what to do instead.
    proc = grader("new", "problem", "hw1", "double", cwd=course)
    assert proc.returncode == 2 and "has a problem 'double' already" in proc.stderr, proc.stderr


def test_a_check_cannot_call_a_driver_a_function_problem_does_not_have(tmp_path: Path) -> None:
    course = scaffold(tmp_path)
    test = course / "rubrics/hw1/test_double.py"
    test.write_text(test.read_text() + '\n\ndef helper(submission):\n    submission.call("double", x=1)\n'
                    '\n\ndef other(submission):\n    submission.function("triple")\n')
    with pytest.raises(ConfigError) as info:
        Course.locate(course).assignment("hw1")
    message = str(info.value)
    assert "call('double'): problem 'double' has no driver (rubrics/hw1/drivers/double.py)" in message, message
    assert "function('triple') names a function the template student_template/hw1/double.py does not define" in message


def test_hidden_checks_in_the_public_module_do_not_load(tmp_path: Path) -> None:
    course = scaffold(tmp_path)
    hidden = course / "rubrics/hw1/hidden/test_double.py"
    public = course / "rubrics/hw1/test_double.py"
    public.write_text(public.read_text() + "\n\n" + hidden.read_text().split("public = public_checks(__file__)", 1)[1]
                      .replace("public.matches", "matches"))
    hidden.unlink()
    with pytest.raises(ConfigError, match=r"rubrics/hw1/test_double.py defines test_double_hidden, which "
                                          r"rubrics/hw1/rubric.toml marks hidden: hidden checks live in "
                                          r"rubrics/hw1/hidden/test_double.py"):
        Course.locate(course).assignment("hw1")


def test_release_refuses_what_would_leak_and_writes_nothing(tmp_path: Path) -> None:
    course = scaffold(tmp_path)
    proc = grader("release", "hw1", "--out", tmp_path / "early", cwd=course)
    assert proc.returncode == 2 and "placeholder(s) of `grader new`" in proc.stderr, proc.stderr
    fill_in(course)
    # A public module that names a hidden check (in a comment), and one that copied a line
    # of the reference's solution.
    public = course / "rubrics/hw1/test_net.py"
    public.write_text(public.read_text() + "\n# see also test_net_hidden_sizes\n")
    reference = course / "reference/hw1/double.py"
    reference.write_text(re.sub(r"return 2 \* x.*", "y = torch.mul(x, 2.0)  # the reference's own way\n    y = y.contiguous()\n    return y.clone()",
                                reference.read_text()))
    checks = course / "rubrics/hw1/test_double.py"
    checks.write_text(checks.read_text() + "\n\ndef copied(x):\n    y = torch.mul(x, 2.0)\n    y = y.contiguous()\n    return y.clone()\n")
    proc = grader("release", "hw1", "--out", tmp_path / "rel", cwd=course)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert ".grader/rubrics/hw1/test_net.py:" in proc.stderr and "the hidden check test_net_hidden_sizes" in proc.stderr
    assert ".grader/rubrics/hw1/test_double.py:" in proc.stderr and "lines of the reference reference/hw1/double.py" in proc.stderr
    assert not (tmp_path / "rel").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".release-")]  # no half-written staging left


def test_a_release_self_checks_with_the_grader_installed_from_its_wheel_in_a_fresh_venv(tmp_path: Path) -> None:
    course = scaffold(tmp_path)
    fill_in(course)
    release = tmp_path / "student"
    proc = grader("release", "hw1", "--out", release, cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file())
    wheel = [f for f in files if f.endswith(".whl")]
    assert len(wheel) == 1, files
    assert {"README.md", "double.py", "net.py", ".grader/course.toml", ".grader/rubrics/hw1/rubric.toml",
            ".grader/rubrics/hw1/test_double.py", ".grader/rubrics/hw1/test_net.py",
            ".grader/rubrics/hw1/drivers/net.py"} <= set(files), files
    assert not [f for f in files if "hidden" in f or "mistake" in f or f.startswith("reference")], files
    readme = (release / "README.md").read_text()
    assert f"pip install ./{wheel[0]}" in readme and "grader check hw1" in readme

    # Searched by this test itself, independently of the release's own search.
    import zipfile

    texts = {f: (release / f).read_bytes().decode("utf-8", "replace") for f in files if not f.endswith(".whl")}
    with zipfile.ZipFile(release / wheel[0]) as z:
        texts |= {f"{wheel[0]}!{m}": z.read(m).decode("utf-8", "replace") for m in z.namelist()}
        assert all(m.startswith(("grader/", "dl_grader-")) for m in z.namelist())  # the grader only: no course in it
    for secret in ["test_double_hidden", "test_net_hidden_sizes", "double_off_by_one", "double_float64", "net_no_bias"]:
        assert not [f for f, t in texts.items() if secret in t], secret

    venv = fresh_venv(tmp_path)
    pip = subprocess.run([venv / "bin" / "pip", "install", "--no-index", f"./{wheel[0]}"], cwd=release,
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_COURSE", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    where = subprocess.run(["python", "-c", "import grader; print(grader.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel's grader, not this checkout's

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["grader", "check", "hw1"], cwd=release, env=env, capture_output=True, text=True, timeout=600)

    proc = check()  # the template as handed out: nothing written yet
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Not written yet" in proc.stdout + proc.stderr and "Public tests: 0/12" in proc.stdout, proc.stdout
    for f in ("double.py", "net.py"):
        shutil.copyfile(course / "reference/hw1" / f, release / f)
    proc = check()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Public tests: 12/12" in proc.stdout, proc.stdout
    assert "hidden_sizes" not in proc.stdout + (release / "feedback.html").read_text()

    proc = subprocess.run(["grader", "validate", "hw1"], cwd=release, env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "a release for students" in proc.stderr, proc.stderr


@pytest.mark.parametrize("assignment", Course.locate(ROOT).assignment_ids())
def test_this_course_s_releases_hold_nothing_hidden(assignment: str, tmp_path: Path) -> None:
    """With the grader's wheel, as `grader release` makes them (tests/system/test_releases.py
    self-checks them, and every other course's)."""
    import zipfile

    import grader
    from grader._authoring.release import release

    course = Course.locate(ROOT)
    a = course.assignment(assignment)
    r = release(assignment, tmp_path / "rel", course=course)
    assert r.wheel and not [f for f in r.files if f.startswith(".grader/rubrics/") and "/hidden/" in f]
    hidden = [t.name for p in a.rubric.problems for t in p.tests if t.visibility != "visible"]
    assert hidden
    texts = {f: (r.out / f).read_bytes().decode("utf-8", "replace") for f in r.files if f != r.wheel}
    # The wheel: the grader's package as it runs here, byte for byte (the grader's words, the
    # same for every course), and its dist-info, searched like the rest.
    package = Path(grader.__file__).resolve().parent
    with zipfile.ZipFile(r.out / r.wheel) as z:
        for m in z.namelist():
            if m.startswith("grader/"):
                assert z.read(m) == (package / m.removeprefix("grader/")).read_bytes(), m
            else:
                assert m.startswith("dl_grader-") and ".dist-info/" in m, m
                texts[f"{r.wheel}!{m}"] = z.read(m).decode("utf-8", "replace")
    for where, text in texts.items():
        assert not [h for h in hidden if h in text], (where, [h for h in hidden if h in text])
        for ref in a.reference_dir.glob("*.py"):  # a whole reference file is never there
            assert ref.read_text() not in text or ref.read_text() == (a.template_dir / ref.name).read_text()
    assert not (tmp_path / "rel" / ".grader" / "reference").exists()
    assert not (tmp_path / "rel" / ".grader" / "rubrics" / assignment / "mistakes.toml").exists()


def test_the_generic_path_reports_the_student_s_mistakes_in_their_words(tmp_path: Path) -> None:
    """No driver: what the student's function returns comes back as plain data, or is their wrong answer."""
    course = scaffold(tmp_path)
    fill_in(course)
    cases = {
        "missing": ("def triple(x):\n    return 3 * x\n", "double.py defines no function double(), which the homework asks for"),
        "a_set": ("def double(x):\n    return {1, 2}\n", "what double() returned holds a set"),
        "raises": ("def double(x):\n    return x.nope()\n", "AttributeError"),
        "module": ("import torch\ndef double(x):\n    return torch.nn.Linear(2, 2)\n", "what double() returned holds a Linear"),
        "right": ("def double(x):\n    return x + x\n", None),
    }
    subs = tmp_path / "subs"
    for name, (code, _) in cases.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "double.py").write_text(code)
    proc = run_cli("grade", "hw1", subs, "--out", tmp_path / "out", "--problem", "double", "--course", course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    for name, (_, message) in cases.items():
        result = json.loads((tmp_path / "out" / name / "result.json").read_text())
        tests = {t["test"]: t for t in result["tests"]}
        small = tests["test_double_small"]
        if message is None:
            assert small["status"] == "passed" and result["score"] == 10, result
        else:
            assert small["status"] == "failed" and message in small["output"], (name, small["output"])
            assert "grader itself failed" not in small["output"]


ONE_FILE = '''"""double: write double(x) (see README.md)."""

import torch


def double(x: torch.Tensor) -> torch.Tensor:
    """2 * x, in x's dtype, for x of shape (n, d)."""
    # BEGIN SOLUTION
    y = 2 * x
    return y
    # END SOLUTION
'''


def test_a_course_in_one_file_per_problem_validates_releases_and_self_checks(tmp_path: Path) -> None:
    """Issue 30, point 4: a problem whose reference marks its solution and that has no template
    file: validate grades the template derived from it, a release holds that template (no
    marker, no solution), it self-checks; a template file whose given code drifted is caught."""
    course = scaffold(tmp_path)
    fill_in(course)
    (course / "reference/hw1/double.py").write_text(ONE_FILE)
    mistakes = course / "rubrics/hw1/mistakes.toml"  # (their edits, of the new reference's lines)
    mistakes.write_text(mistakes.read_text().replace('"    return 2 * x', '"    y = 2 * x').replace('"    return (2 * x)', '"    y = (2 * x)'))
    (course / "student_template/hw1/double.py").unlink()  # (net keeps its two files: a course may mix them)
    derived = ONE_FILE.split("    # BEGIN SOLUTION")[0] + '    raise NotImplementedError("double")\n'

    proc = grader("validate", "hw1", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hw1 template: 0/20 ok" in proc.stdout, proc.stdout
    assert "note: double.py: the template is derived from reference/hw1/double.py (1 marked solution)" in proc.stdout

    release = tmp_path / "student"
    proc = grader("release", "hw1", "--out", release, "--no-wheel", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (release / "double.py").read_text() == derived
    assert (release / ".grader/student_template/hw1/double.py").read_text() == derived
    for path in release.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            assert "SOLUTION" not in text and "y = 2 * x" not in text, path
    proc = grader("check", "hw1", "--problem", "double", cwd=release)
    assert proc.returncode == 1 and "Not written yet: double" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    shutil.copyfile(course / "reference/hw1/double.py", release / "double.py")  # the markers are comments: it runs
    proc = grader("check", "hw1", "--problem", "double", cwd=release)
    assert proc.returncode == 0 and "Public tests: 6/6" in proc.stdout, proc.stdout + proc.stderr

    # A template file beside the marked reference wins; one whose given code drifted is invalid.
    (course / "student_template/hw1/double.py").write_text(derived.replace("def double(x: torch.Tensor)", "def double(x)"))
    proc = grader("validate", "hw1", "--no-mistakes", cwd=course)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "hw1 template: 0/20 INVALID" in proc.stdout, proc.stdout
    assert ("student_template/hw1/double.py:6: 'def double(x) -> torch.Tensor:', where reference/hw1/double.py:6 has "
            "'def double(x: torch.Tensor) -> torch.Tensor:'") in proc.stdout, proc.stdout


def test_the_published_rubric_reference_is_what_the_models_say() -> None:
    from grader._authoring import docs as _docs

    assert (ROOT / "docs" / "rubric.schema.json").read_text() == _docs.schema(), "run: python -m grader._authoring.docs"
    assert (ROOT / "docs" / "rubric.md").read_text() == _docs.markdown(), "run: python -m grader._authoring.docs"


def test_close_speaks_assert_close_s_words_golden() -> None:
    """Golden: the message of a mismatch, word for word, in the vocabulary of torch.testing.assert_close."""
    import torch

    from grader.checks import CheckFailed, Tolerance, close

    expected = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64)
    got = expected.clone()
    got[1, 2] = 6.5
    got[0, 0] = 1.001
    with pytest.raises(CheckFailed) as info:
        close(got, expected, what="f(x) on a 2x3 input", tol=Tolerance.default(torch.float64))
    assert str(info.value) == (
        "Compared: f(x) on a 2x3 input\n"
        "Mismatched elements: 2 / 6 (33.3%) are outside the tolerance.\n"
        "Greatest absolute difference: 5.000e-01 at [1, 2] (up to 1.0e-07 allowed): got 6.5, expected 6\n"
        "Greatest relative difference: 8.333e-02 at [1, 2] (up to 1.0e-07 allowed): got 6.5, expected 6\n"
        "Tolerance: |got - expected| <= 1.0e-07 + 1.0e-07 * |expected|  (torch.testing.assert_close's default for float64)"
    )
    # And the defaults are assert_close's own: what it accepts, close accepts, and not more.
    for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        tol = Tolerance.default(dtype)
        e = torch.linspace(-3, 3, 50, dtype=dtype)
        inside = e + (tol.atol + tol.rtol * e.abs()) * 0.5
        outside = e + (tol.atol + tol.rtol * e.abs()) * 4
        torch.testing.assert_close(inside, e)
        close(inside, e, what="inside", tol=tol)
        with pytest.raises(AssertionError):
            torch.testing.assert_close(outside, e)
        with pytest.raises(CheckFailed):
            close(outside, e, what="outside", tol=tol)
