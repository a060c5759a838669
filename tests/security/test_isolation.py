"""Say what is in force (issue 18, point 3): every grade and check starts with a line naming
what contains the workers, every result records it, and where the kernel refuses the
namespaces workers are contained with, grading goes on only when told ``--unsandboxed``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import grader._sandbox.isolation as isolation
import grader._sandbox.local as local
from grader._sandbox.runner import ISOLATIONS
from conftest import ROOT, run_cli
from grader._exceptions import SandboxError
from grader.cli import cli

REFERENCE = ROOT / "reference" / "mfdnn-hw5"
ISOLATION, WHY_NOT = isolation.local_isolation()


def student(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copyfile(REFERENCE / "momentum.py", folder / "momentum.py")
    return folder


def test_a_check_says_what_contains_the_workers_and_its_result_records_it(tmp_path: Path) -> None:
    if ISOLATION == "none":
        pytest.skip(f"workers cannot be isolated here: {WHY_NOT}")
    me = student(tmp_path / "me")
    proc = run_cli("check", "mfdnn-hw5", me, "--problem", "momentum", "--seed", "7")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Isolation: {ISOLATIONS[ISOLATION]}." in proc.stderr.splitlines()
    page = (me / "feedback.html").read_text()
    assert "Sandbox" in page and {"root": "as root", "rootless": "rootless"}[ISOLATION] in page


def test_a_batch_says_it_and_every_result_records_it(tmp_path: Path) -> None:
    if ISOLATION == "none":
        pytest.skip(f"workers cannot be isolated here: {WHY_NOT}")
    classroom = tmp_path / "class"
    for name in ("ada", "ben"):
        student(classroom / name)
    proc = run_cli("grade", "mfdnn-hw5", classroom, "--out", tmp_path / "out", "--problem", "momentum", "--seed", "7")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.splitlines()[1] == f"Isolation: {ISOLATIONS[ISOLATION]}."  # after "Student code runs ..."
    for name in ("ada", "ben"):
        assert json.loads((tmp_path / "out" / name / "result.json").read_text())["isolation"] == ISOLATION


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as one whose kernel refuses user namespaces (the probe's answer)."""
    for module in (isolation, local):  # where `check` asks, and where LocalRunner (for `grade`) does
        monkeypatch.setattr(module, "local_isolation", lambda: ("none", "user namespace (Operation not permitted)"))
    monkeypatch.delenv("GRADER_UNSANDBOXED", raising=False)


def test_without_namespaces_nothing_is_graded_unless_told_unsandboxed(tmp_path: Path, refused: None) -> None:
    classroom = tmp_path / "class"
    student(classroom / "ada")
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["grade", "mfdnn-hw5", str(classroom), "--out", str(out), "--problem", "momentum", "--seed", "7", "--course", str(ROOT)]
    said = runner.invoke(cli, args)
    assert isinstance(said.exception, SandboxError), said.output
    message = str(said.exception)
    assert "Operation not permitted" in message and "--unsandboxed" in message and "--runner docker" in message
    assert not list(out.glob("*/result.json"))  # refused before any student code ran
    said = runner.invoke(cli, ["check", "mfdnn-hw5", str(classroom / "ada"), "--problem", "momentum", "--course", str(ROOT)])
    assert isinstance(said.exception, SandboxError) and "--unsandboxed" in str(said.exception)
    assert not (classroom / "ada" / "feedback.html").exists()

    said = runner.invoke(cli, [*args, "--unsandboxed"])
    assert said.exit_code == 0, said.output + repr(said.exception)
    assert f"Isolation: {ISOLATIONS['none']}." in said.output
    result = json.loads((out / "ada" / "result.json").read_text())
    assert result["isolation"] == "none" and result["score"] == result["max_score"]
    assert "uncontained" in (out / "ada" / "feedback.html").read_text()


def test_the_environment_variable_allows_it_too(tmp_path: Path, refused: None, monkeypatch: pytest.MonkeyPatch) -> None:
    me = student(tmp_path / "me")
    monkeypatch.setenv("GRADER_UNSANDBOXED", "1")
    said = CliRunner().invoke(cli, ["check", "mfdnn-hw5", str(me), "--problem", "momentum", "--seed", "3", "--course", str(ROOT)])
    assert said.exit_code == 0, said.output + repr(said.exception)
    assert "Isolation: NONE" in said.output


def test_the_probe_is_the_workers_own_code() -> None:
    """``local_isolation`` asks the worker script itself (``--probe``) whether it can make what
    a rootless worker makes; as root it answers root without asking."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-I", "-S", str(isolation._WORKER_MAIN), "--probe"], capture_output=True, text=True)
    if os.geteuid() == 0:
        assert ISOLATION == "root"
    else:
        assert (done.returncode == 0) == (ISOLATION == "rootless"), done.stdout
