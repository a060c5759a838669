"""`grader gradescope`: the bundle, and its run_autograder against a local stand-in of /autograder."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import run_cli
from grader._course.models import GradescopeResults

A = "mfdnn-hw5"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    proc = run_cli("gradescope", A, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout
    return out


def test_the_bundle_holds_the_checks_and_no_solutions(bundle: Path, course) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert script in names and modes[script] & stat.S_IXUSR, f"{script} missing or not executable"
    a = course.assignment(A)
    for p in a.rubric.problems:
        assert f"course/rubrics/{A}/test_{p.id}.py" in names and f"course/rubrics/{A}/drivers/{p.id}.py" in names
        assert f"course/student_template/{A}/{p.file}" in names
    assert "course/grader/_worker/__main__.py" in names and "course/grader/_worker/isolation.py" in names and "course/requirements.txt" in names
    assert not [n for n in names if n.startswith(("course/reference", "course/tests", "course/examples")) or "mfdnn-hw7" in n]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # the known mistakes (right-but-different solutions among them) stay in the course
    assert (a.rubric_dir / "mistakes.toml").is_file() and (a.rubric_dir / "mistakes").is_dir()
    assert not [n for n in names if n.startswith((f"course/rubrics/{A}/mistakes.toml", f"course/rubrics/{A}/mistakes/"))]


def test_setup_sh_is_valid_bash(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as z:
        z.extract("setup.sh", tmp_path)
    assert subprocess.run(["bash", "-n", str(tmp_path / "setup.sh")]).returncode == 0


def _autograder(bundle: Path, root: Path, files: dict[str, Path], email: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Gradescope's layout: the bundle in source/, the student's files in submission/."""
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    for rel, src in files.items():
        (root / "submission" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, root / "submission" / rel)
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": email, "name": "X"}]}))
    script = root / "source" / "run_autograder"
    script.chmod(0o755)  # Gradescope copies it to /autograder/run_autograder and runs it
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable}
    env.pop("GRADER_COURSE", None)
    proc = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=900)
    path = root / "results" / "results.json"
    return proc, json.loads(path.read_text()) if path.exists() else {}


def test_a_right_submission_scores_full_marks_in_gradescopes_format(bundle: Path, tmp_path: Path, course) -> None:  # type: ignore[no-untyped-def]
    a = course.assignment(A)
    files = {f"hw5/{f}": a.reference_dir / f for f in a.student_files}  # a folder inside the upload: found anyway
    proc, raw = _autograder(bundle, tmp_path / "autograder", files, "zoe@uni.edu")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = GradescopeResults.model_validate(raw)  # only Gradescope's documented fields, each of its type
    rubric = {f"{p.id}: {t.title}": (t.points, t.visibility) for p in a.rubric.problems for t in p.tests}
    # Gradescope's machines have no GPU: memorization (needs = "cuda") is reported, not graded
    gpu_only = {f"{p.id}: {t.title}" for p in a.rubric.problems if p.needs == "cuda" for t in p.tests}
    assert gpu_only and results.score == sum(p for name, (p, _) in rubric.items() if name not in gpu_only) == 65
    assert {t.name: (t.max_score, t.visibility) for t in results.tests} == rubric  # hidden tests stay hidden
    assert {t.visibility for t in results.tests} >= {"visible", "hidden"}
    assert all(t.status == "passed" and t.score == t.max_score for t in results.tests if t.name not in gpu_only)
    assert all(t.score == 0 and "needs a CUDA GPU" in t.output for t in results.tests if t.name in gpu_only)
    assert results.stdout_visibility == "hidden"  # stdout names hidden tests: the staff's alone


def test_a_wrong_submission_is_explained_test_by_test(bundle: Path, tmp_path: Path, course) -> None:  # type: ignore[no-untyped-def]
    a = course.assignment(A)
    files = {"backprop.py": a.reference_dir / "backprop.py", "momentum.py": a.template_dir / "momentum.py"}
    proc, raw = _autograder(bundle, tmp_path / "autograder", files, "yan@uni.edu")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = GradescopeResults.model_validate(raw)
    assert results.score == 25
    momentum = [t for t in results.tests if t.tags == ["momentum"]]
    assert momentum and all(t.status == "failed" and t.score == 0 for t in momentum)
    assert all(t.output.startswith("[error] Not written yet") for t in momentum), [t.output for t in momentum]
    assert all(t.status == "passed" for t in results.tests if t.tags == ["backprop"])
    assert results.extra_data["assignment"] == A


def test_a_missing_submission_folder_is_reported_to_the_staff(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "autograder"
    proc, raw = _autograder(bundle, root, {}, "nobody@uni.edu")  # no files: no submission/ folder at all
    assert not (root / "submission").exists()
    assert proc.returncode == 2 and "submission: no such folder" in proc.stderr, proc.stderr[-2000:]
    assert raw == {}  # no results.json: Gradescope shows the staff that the autograder failed, with this output


def test_the_cli_refuses_an_unknown_assignment(tmp_path: Path) -> None:
    proc = run_cli("gradescope", "no-such-hw", "--out", tmp_path / "a.zip")
    assert proc.returncode == 2 and "no assignment 'no-such-hw'" in proc.stderr
    assert not (tmp_path / "a.zip").exists()

