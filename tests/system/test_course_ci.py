"""Issue 30, point 3: a course's CI in one file, as `grader new course` writes it.

No Actions runner or GitLab runner is reachable from here, so what is tested is the CI files'
commands: the workflow's ``run:`` steps (and .gitlab-ci.yml's ``script:`` lines), read from
the files `grader new course` wrote, run in order with bash as the runner runs them
(``bash --noprofile --norc -eo pipefail``), with the file's own variables, in a copy of
examples/intro-course holding those CI files (and the grader's wheel they install, which
`grader new course` wrote beside them), in a fresh virtual environment (``fresh_venv``: no
grader in it; the dependencies there already, as after the runner's PyTorch step).

Skipped, and only these: the step that installs PyTorch from download.pytorch.org (no
network here; the fresh environment has PyTorch), and a step that would change this machine
with sudo (the workflow's AppArmor setting, where this kernel has it: here it has not, and
the step does nothing). pip runs with PIP_NO_INDEX=1, so the grader's install takes nothing
from the network either: its dependencies are found installed. The GitLab job's script runs
the same commands (a slow test: 35 s more). As root here, validate's
workers run as a uid of their own (on GitHub's runner, rootless: docs/ci.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, fresh_venv, run_cli

COURSE = ROOT / "examples" / "intro-course"
APPARMOR = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/intro-course with the CI files (and wheel) a new course gets."""
    tmp = tmp_path_factory.mktemp("ci")
    proc = run_cli("new", "course", tmp / "new", "--title", "CI", cwd=tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    course = tmp / "course"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel in (".github", ".gitlab-ci.yml", "grader-wheel"):
        (shutil.copytree if (tmp / "new" / rel).is_dir() else shutil.copyfile)(tmp / "new" / rel, course / rel)
    return course


def skipped(command: str) -> str | None:
    """Why this step is not run here, or None."""
    if "pip install torch torchvision" in command:
        return "installs PyTorch from download.pytorch.org (no network; the fresh venv has it)"
    if "sudo " in command and APPARMOR.exists():
        return "would change this machine's AppArmor setting with sudo"
    return None


def run_steps(steps: list[tuple[str, str]], variables: dict[str, str], course: Path, tmp: Path,
              folder: str = ".") -> dict[str, str]:
    """Run each (name, command) in order in ``course`` (its ``folder``: a workflow's
    working-directory), as a runner does, with ``variables``; the output of each step run, by
    name. The commands skipped are those ``skipped`` names."""
    venv = fresh_venv(tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_COURSE", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(variables, PATH=f"{venv / 'bin'}:{env['PATH']}", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    outputs: dict[str, str] = {}
    for name, command in steps:
        if skipped(command):
            continue
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command], cwd=course / folder, env=env,
                              capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, f"step {name!r} failed ({proc.returncode}):\n{command}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        outputs[name] = proc.stdout + proc.stderr
    grader = subprocess.run(["python", "-c", "import grader; print(grader.__file__)"], env=env, cwd=tmp,
                            capture_output=True, text=True)
    assert grader.stdout.startswith(str(venv)), grader.stdout + grader.stderr  # the steps installed it there
    return outputs


def validated(output: str) -> None:
    """What `grader validate --all` says of the intro course when all is well."""
    for line in ("hw1 reference: 20/20 ok", "hw1 template: 0/20 ok", "hw1 known mistakes: 11/11 fail exactly their checks ok"):
        assert line in output, output


def test_the_github_workflow_s_steps_validate_the_course(course: Path, tmp_path: Path) -> None:
    workflow = yaml.safe_load((course / ".github" / "workflows" / "grader.yml").read_text())
    steps = [(s.get("name", s["run"]), s["run"]) for s in workflow["jobs"]["validate"]["steps"] if "run" in s]
    assert [skipped(c) is not None for _, c in steps].count(True) == 1 + APPARMOR.exists()  # the torch step (and sudo)
    assert steps[-1][1].strip() == "grader validate --all"
    outputs = run_steps(steps, workflow["env"], course, tmp_path, workflow["defaults"]["run"]["working-directory"])
    assert "dl-grader " in outputs["Install the grader"]
    validated(outputs[steps[-1][0]])


@pytest.mark.slow  # the same commands as the workflow's, and 35 s more (make test-all)
def test_the_gitlab_job_s_script_validates_the_course(course: Path, tmp_path: Path) -> None:
    ci = yaml.safe_load((course / ".gitlab-ci.yml").read_text())
    script = ci["validate"]["script"]
    assert [skipped(c) is not None for c in script].count(True) == 1 and script[-1] == "grader validate --all"
    variables = {k: v.replace("$CI_PROJECT_DIR", str(course)) for k, v in ci["variables"].items()}
    outputs = run_steps([(c, c) for c in script], variables, course, tmp_path)
    validated(outputs[script[-1]])


def test_a_failing_step_fails_the_run_and_the_install_is_the_variable_s(course: Path, tmp_path: Path) -> None:
    """What the tests above rely on: a step that fails stops the run, with its output; and the
    grader installed is the one GRADER_REQUIREMENT names (here a wheel that is not there)."""
    workflow = yaml.safe_load((course / ".github" / "workflows" / "grader.yml").read_text())
    steps = [(s.get("name", s["run"]), s["run"]) for s in workflow["jobs"]["validate"]["steps"] if "run" in s]
    variables = {**workflow["env"], "GRADER_REQUIREMENT": "./grader-wheel/dl_grader-0.0.0-py3-none-any.whl"}
    with pytest.raises(AssertionError, match="step 'Install the grader' failed"):
        run_steps(steps, variables, course, tmp_path)
