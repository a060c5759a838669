"""Issue 31, point 4: a student self-checking in a release is told the hint of a known mistake
marked for students whose answers are theirs, and the release holds no mistake's code.

`grader release` and `grader check` are run as a person runs them (``run_cli``: this checkout's
grader, nothing installed), `check` in real, sandboxed workers, with the release's course."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, load_mistakes, run_cli
from markupsafe import escape

from grader._authoring.wheel import grader_wheel
from grader._course.layout import Course

ASSIGNMENT = "mfdnn-hw5"
HINTS = Path(".grader") / "hints" / f"{ASSIGNMENT}.json"


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "hw5"
    proc = run_cli("release", ASSIGNMENT, "--out", out, "--course", ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "known mistake(s)' hints for students (backprop)" in proc.stdout, proc.stdout
    assert (out / HINTS).is_file()
    return out


def _student(release: Path, where: Path, backprop: str) -> Path:
    """A student's folder: the release as handed out, with ``backprop`` as their backprop.py."""
    folder = where / "student"
    folder.mkdir()
    for f in release.iterdir():
        if f.is_file() and f.suffix == ".py":
            (folder / f.name).write_bytes(f.read_bytes())
    (folder / "backprop.py").write_text(backprop, encoding="utf-8")
    return folder


def _check(release: Path, folder: Path) -> tuple[int, str, str]:
    proc = run_cli("check", ASSIGNMENT, folder, "--problem", "backprop", "--course", release / ".grader")
    return proc.returncode, proc.stdout, proc.stderr


def _mistake_file(mistake_id: str) -> str:
    m = next(m for m in load_mistakes(ASSIGNMENT) if m.id == mistake_id)
    assert m.shown == "students" and m.hint
    return m.text(Course.locate(ROOT).assignment(ASSIGNMENT))


@pytest.mark.parametrize("mistake_id", ["backprop_sigmoid_prime_of_activation", "backprop_loss_gradient_sign"])
def test_a_students_mistake_is_told_its_hint_in_the_release(released: Path, tmp_path: Path, mistake_id: str) -> None:
    folder = _student(released, tmp_path, _mistake_file(mistake_id))
    code, out, err = _check(released, folder)
    assert code == 1, err[-3000:]
    hints = {m.id: m.hint for m in load_mistakes(ASSIGNMENT) if m.problem == "backprop" and m.hint}
    told = [i for i, h in hints.items() if h in out]
    assert told == [mistake_id], out  # its own hint, and no other mistake's
    assert "HINT (backprop)" in out
    assert str(escape(hints[mistake_id])) in (folder / "feedback.html").read_text(encoding="utf-8")


def test_a_right_file_is_told_no_hint(released: Path, tmp_path: Path) -> None:
    folder = _student(released, tmp_path, (ROOT / "reference" / ASSIGNMENT / "backprop.py").read_text(encoding="utf-8"))
    code, out, err = _check(released, folder)
    assert code == 0, out + err[-3000:]
    assert "HINT" not in out and "mistake we have seen" not in (folder / "feedback.html").read_text(encoding="utf-8")


def test_a_broken_or_missing_hints_file_is_a_self_check_without_hints(released: Path, tmp_path: Path) -> None:
    mistaken = _mistake_file("backprop_sigmoid_prime_of_activation")
    for i, broken in enumerate(["{not json", None]):
        copy = tmp_path / f"release{i}"
        run = run_cli("release", ASSIGNMENT, "--out", copy, "--course", ROOT, "--no-wheel", "--no-hints")
        assert run.returncode == 0 and not (copy / HINTS).exists(), run.stderr[-2000:]
        if broken is not None:
            (copy / HINTS).parent.mkdir()
            (copy / HINTS).write_text(broken)
        where = tmp_path / f"student{i}"
        where.mkdir()
        folder = _student(copy, where, mistaken)
        code, out, err = _check(copy, folder)
        assert code == 1, err[-3000:]  # the same verdict: its public tests fail
        assert "HINT" not in out and "FAIL" in out
        assert "Traceback" not in err and "WARNING" not in err and "ERROR " not in err, err[-3000:]


def test_no_mistakes_code_is_in_the_release(released: Path) -> None:
    """No known mistake's edit (the text it puts in the reference) is in any file of the
    release, the wheel's members included, but where the template itself has that text (and
    the grader's own files in its wheel, byte for byte the grader that runs here: its docs
    show an edit as an example, the same words for every course)."""
    a = Course.locate(ROOT).assignment(ASSIGNMENT)
    template = "".join(a.template_file(f).read_text(encoding="utf-8") for f in a.student_files if a.template_file(f).is_file())
    own = dict(grader_wheel()[1])
    texts: list[str] = []
    for f in sorted(released.rglob("*")):
        if f.suffix == ".whl":
            with zipfile.ZipFile(f) as z:
                texts += [d.decode("utf-8", errors="replace") for n in z.namelist() if (d := z.read(n)) != own.get(n)]
        elif f.is_file():
            texts.append(f.read_text(encoding="utf-8", errors="replace"))
    edits = [(m.id, e.new.strip()) for m in load_mistakes(ASSIGNMENT) for e in m.edit]
    searched = [(i, new) for i, new in edits if len(new) >= 8 and new not in template]
    assert len(searched) > len(edits) // 2  # most edits are searched for
    found = [(i, new) for i, new in searched if any(new in t for t in texts)]
    assert found == []
    hints = (released / HINTS).read_text(encoding="utf-8")
    assert all(m.id not in hints for m in load_mistakes(ASSIGNMENT) if m.shown != "students")
