"""Issue 30, point 2: the grader installs like any Python tool, and the installed grader works.

The sdist and the wheel are built as ``python -m build`` builds them (setuptools' PEP 517
hooks: the sdist from a copy of the checkout's tracked files, then the wheel from the
unpacked sdist), with this environment's setuptools and no network (``build`` itself is not
installed here; docs/install.md has the command). They must carry every file of the package
that git tracks: a file read at run time (the templates, the worker package, py.typed) that
pyproject.toml's package data left out would pass every test run from the checkout.

Installed with pip into a fresh virtual environment (``fresh_venv``: the dependencies already
there, as on a laptop that has PyTorch; ``--no-deps --no-index``), run from a folder outside
the checkout with nothing of it in the environment, the grader says its version and
self-checks a student's file against this checkout's course (``--course``). Installing from a
git URL works the same (``git+file://`` of this checkout: its committed HEAD, cloned by pip),
and the course that grader scaffolds pins that commit in its CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, fresh_venv

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def tracked(folder: str) -> set[str]:
    """The files git tracks under ``folder`` of the checkout (as paths from its root)."""
    proc = subprocess.run(["git", "ls-files", "-z", "--", folder], cwd=ROOT, capture_output=True, check=True)
    return {f for f in proc.stdout.decode().split("\0") if f and (ROOT / f).is_file()}


def hook(hook_call: str, cwd: Path) -> str:
    """A PEP 517 hook of setuptools (the backend pyproject.toml names), run in ``cwd`` as a
    build frontend runs it: the file name it returns."""
    proc = subprocess.run([sys.executable, "-c", f"from setuptools import build_meta as b; print(b.{hook_call})"],
                          cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """sdist, then the wheel from the unpacked sdist (what ``python -m build`` does)."""
    tmp = tmp_path_factory.mktemp("build")
    src, dist = tmp / "src", tmp / "dist"
    for f in tracked("."):
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    sdist = dist / hook(f"build_sdist({str(dist)!r})", src)
    with tarfile.open(sdist) as t:  # (our own sdist; the "data" filter where this Python has it)
        t.extractall(tmp / "unpacked", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    unpacked = tmp / "unpacked" / sdist.name.removesuffix(".tar.gz")
    wheel = dist / hook(f"build_wheel({str(dist)!r})", unpacked)
    return Built(sdist, wheel)


def left_out(members: set[str]) -> set[str]:
    """The package's tracked files that ``members`` (an archive's, as paths from the checkout) lack."""
    return tracked("grader") - members


def test_the_sdist_and_the_wheel_carry_every_file_of_the_package(built: Built) -> None:
    package = tracked("grader")
    assert {"grader/py.typed", "grader/_worker/__main__.py", "grader/templates/feedback.html",
            "grader/_authoring/templates/course/github-workflow.yml.j2"} <= package
    with zipfile.ZipFile(built.wheel) as z:
        members = set(z.namelist())
        info = f"dl_grader-{VERSION}.dist-info"
        meta = z.read(f"{info}/METADATA").decode()
        entry = z.read(f"{info}/entry_points.txt").decode()
    assert built.wheel.name == f"dl_grader-{VERSION}-py3-none-any.whl"
    assert not left_out(members), f"the wheel lacks {sorted(left_out(members))}: pyproject.toml's package-data"
    assert not {m for m in members if not m.startswith((f"{info}/", "grader/"))}, sorted(members)
    assert f"Version: {VERSION}\n" in meta and "Requires-Dist: torch" in meta
    assert "grader = grader.cli:main" in entry
    with tarfile.open(built.sdist) as t:
        inside = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert not left_out(inside), f"the sdist lacks {sorted(left_out(inside))}"
    assert "pyproject.toml" in inside


def test_the_file_check_catches_a_template_left_out_of_package_data(built: Built, tmp_path: Path) -> None:
    """The comparison above, shown to fail: a wheel without one template."""
    spoiled = tmp_path / built.wheel.name
    with zipfile.ZipFile(built.wheel) as z, zipfile.ZipFile(spoiled, "w") as out:
        for item in z.infolist():
            if item.filename != "grader/_authoring/templates/course/gitlab-ci.yml.j2":
                out.writestr(item, z.read(item))
    with zipfile.ZipFile(spoiled) as z:
        assert left_out(set(z.namelist())) == {"grader/_authoring/templates/course/gitlab-ci.yml.j2"}


@dataclass(frozen=True)
class Env:
    venv: Path
    env: dict[str, str]

    def run(self, *args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout)


def installed(tmp: Path, *pip_args: str, build: bool = False) -> Env:
    """A fresh venv, ``pip install --no-deps --no-index PIP_ARGS`` in it, and the environment of
    a shell that has it on its PATH and nothing of this checkout. The pip is this
    environment's (``--python``: into the fresh venv), a recent one: the venv's own may be as
    old as its Python (23.0 refuses a ``git+file:///`` URL, which has no host). ``build``: pip
    builds the grader with this environment's setuptools (``--no-build-isolation``, no network),
    which imports _distutils_hack, a module ``fresh_venv`` leaves out."""
    venv = fresh_venv(tmp)
    if build:
        import _distutils_hack  # type: ignore[import-not-found]

        subprocess.run(["cp", "-al", Path(_distutils_hack.__file__).parent, tmp / "deps"], check=True)
        pip_args = ("--no-build-isolation", *pip_args)
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-deps",
                          "--no-index", *pip_args], cwd=tmp, capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_COURSE", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    return Env(venv, env)


def says_its_version(e: Env, cwd: Path) -> str:
    proc = e.run("grader", "--version", cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"dl-grader {VERSION} ("), proc.stdout
    assert f"{e.venv}/lib/" in proc.stdout, proc.stdout  # the installed grader, not this checkout's
    return proc.stdout


def test_the_wheel_installs_and_self_checks_a_student_s_file_outside_the_checkout(built: Built, tmp_path: Path) -> None:
    e = installed(tmp_path, str(built.wheel))
    student = tmp_path / "student"
    student.mkdir()
    says_its_version(e, student)
    # The momentum template as handed out scores nothing; the reference's file, everything.
    shutil.copyfile(ROOT / "student_template" / "mfdnn-hw5" / "momentum.py", student / "momentum.py")
    check = ("grader", "check", "mfdnn-hw5", ".", "--course", ROOT, "--problem", "momentum")
    proc = e.run(*check, cwd=student)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Public tests: 0/21" in proc.stdout, proc.stdout
    shutil.copyfile(ROOT / "reference" / "mfdnn-hw5" / "momentum.py", student / "momentum.py")
    proc = e.run(*check, cwd=student)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Public tests: 21/21" in proc.stdout and (student / "feedback.html").is_file(), proc.stdout


def test_a_git_url_installs_the_grader_and_its_courses_ci_pins_that_commit(tmp_path: Path) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0 or not shutil.which("git"):
        pytest.skip(f"not a git checkout: {head.stderr.strip()}")
    url = f"git+file://{ROOT}"
    e = installed(tmp_path, f"dl-grader @ {url}", build=True)
    says_its_version(e, tmp_path)
    proc = e.run("grader", "new", "course", "course", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import yaml

    workflow = yaml.safe_load((tmp_path / "course" / ".github" / "workflows" / "grader.yml").read_text())
    assert workflow["env"]["GRADER_REQUIREMENT"] == f"dl-grader @ {url}@{head.stdout.strip()}"
    assert not (tmp_path / "course" / "grader-wheel").exists()
