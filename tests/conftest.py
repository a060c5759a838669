"""Shared fixtures: the course in this checkout, running the CLI, building classes of submissions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from grader._authoring import mistakes as _mistakes
from grader._course.layout import Course
from grader._authoring.mistakes import Mistake

ROOT = Path(__file__).resolve().parent.parent

# tests/corpus holds courses and submissions the tests grade: their rubrics' test_*.py are a
# course's checks (run by the grader on a submission), never this suite's tests.
collect_ignore = ["corpus"]


def pytest_configure(config: pytest.Config) -> None:
    """GRADER_REQUIRE_ISOLATION=root|rootless (CI): workers must be isolated so here, or
    nothing runs; the tests that need isolated workers are then never skipped for the want of it."""
    wanted = os.environ.get("GRADER_REQUIRE_ISOLATION")
    if wanted:
        from grader._sandbox.isolation import local_isolation

        got, why = local_isolation()
        if got != wanted:
            raise pytest.UsageError(f"GRADER_REQUIRE_ISOLATION={wanted}, but workers here get {got!r}: {why}")


TIERS = ("unit", "security", "system")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test is marked with its tier, the folder it is in (``-m unit``, ``-m "not system"``).
    Tests that need the Docker engine run last: CI builds the grading image while the rest run.

    Under pytest-xdist (``-n 2 --dist loadgroup``, as ``make test`` runs) each test module is
    one group, run by one process in order (module-scoped classes are graded once), unless the
    module says otherwise: a module that grades one class per parameter (known mistakes per
    problem, hostile classes per runner) defines ``xdist_group(item)``, its group for a test.""" 
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        tier = parts[0] if len(parts) > 1 and parts[0] in TIERS else None
        if tier is None:
            raise pytest.UsageError(f"{item.nodeid}: every test lives in tests/unit, tests/security or tests/system")
        item.add_marker(getattr(pytest.mark, tier))
        if item.get_closest_marker("xdist_group") is None:
            grouping = getattr(item.module, "xdist_group", None) if isinstance(item, pytest.Function) else None
            group = grouping(item) if grouping is not None else None
            item.add_marker(pytest.mark.xdist_group(group or Path(str(item.fspath)).stem))
    items.sort(key=lambda item: item.get_closest_marker("docker") is not None)


@pytest.fixture(autouse=True)
def _unit_tests_start_no_worker_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tier starts no worker process: where code must run, the in-process runner
    (grader._sandbox.inprocess) stands in for real workers; tests/system/test_inprocess_agrees.py
    shows the two give the same verdicts. (tests/security and tests/system start real ones.)"""
    if request.node.get_closest_marker("unit") is None:
        return
    from grader._sandbox import local

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit test started a worker process: give it grader._sandbox.inprocess.InProcessRunner "
                             "(or move it to tests/system)")

    monkeypatch.setattr(local.LocalWorker, "__init__", refuse)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The worker runner the direct-worker tests share (tests/workers.py), closed once."""
    shared = sys.modules.get("workers")
    if shared is not None:
        shared.SHARED.close()


def docker_runner_or_skip(image: str, **options: object):  # type: ignore[no-untyped-def]
    """A DockerRunner for ``image``, or a skip when no engine or image is here.

    GRADER_REQUIRE_DOCKER=1 turns the skip into a failure (CI: the engine is part of the
    suite there). GRADER_IMAGE_BUILD_STATUS names a file that an image build started beside
    the suite writes its exit status to: wait for it first (CI overlaps the two).
    """
    import time

    from grader._sandbox.docker import DockerRunner
    from grader._exceptions import ConfigError

    status = os.environ.get("GRADER_IMAGE_BUILD_STATUS")
    if status:
        deadline = time.monotonic() + 1800
        while not os.path.exists(status) and time.monotonic() < deadline:
            time.sleep(2)
        code = Path(status).read_text().strip() if os.path.exists(status) else "did not finish within 30 min"
        if code != "0":
            pytest.fail(f"the image build started beside the tests failed ({code}); see its log")
    try:
        return DockerRunner(image, **options)  # type: ignore[arg-type]
    except ConfigError as exc:
        if os.environ.get("GRADER_REQUIRE_DOCKER") == "1":
            pytest.fail(f"GRADER_REQUIRE_DOCKER=1 but: {exc}")
        pytest.skip(str(exc))


def slurm_or_skip() -> None:
    """Skip unless a Slurm cluster this user can submit to answers (``sinfo`` shows a node up).
    GRADER_REQUIRE_SLURM=1 turns the skip into a failure (CI starts one: .ci/slurm-cluster)."""
    try:
        proc = subprocess.run(["sinfo", "--noheader", "--format", "%T"], capture_output=True, text=True, timeout=30)
        up = proc.returncode == 0 and any(s.strip(" *~#") in ("idle", "mixed", "allocated") for s in proc.stdout.split())
        why = proc.stderr.strip() or f"no node up (sinfo: {proc.stdout.split()})"
    except (OSError, subprocess.TimeoutExpired) as exc:
        up, why = False, str(exc)
    if not up:
        if os.environ.get("GRADER_REQUIRE_SLURM") == "1":
            pytest.fail(f"GRADER_REQUIRE_SLURM=1 but no Slurm cluster answers: {why}")
        pytest.skip(f"no Slurm cluster here ({why}); bash .ci/slurm-cluster start makes one (as root)")


def processes() -> dict[int, tuple[int, str]]:
    """Live processes: pid -> (real uid, command line)."""
    found = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            status = (p / "status").read_text()
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
        state = re.search(r"^State:\s+(\S)", status, re.M)
        if uid and state and state.group(1) not in "ZX":
            found[int(p.name)] = (int(uid.group(1)), cmd)
    return found


@pytest.fixture(scope="session")
def course() -> Course:
    return Course.locate(ROOT)


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """``python -m grader ARGS`` in a fresh process, as a person would run it."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *map(str, args)],
        cwd=cwd or ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def run_cli_reaped(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 1800,
                   settle: float = 1.0) -> tuple[subprocess.CompletedProcess[str], dict[int, str]]:
    """``run_cli`` under tests/reaper.py: also what this run left running ``settle`` seconds
    after it ended (pid -> command line), found as what still descends from it, so never
    another run's processes whatever their uid (those are then ended by the reaper)."""
    with tempfile.TemporaryDirectory(prefix="grader-reaped-") as tmp:
        report = Path(tmp) / "report.json"
        proc = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "reaper.py"), str(report), str(settle), "--", sys.executable, "-m", "grader", *map(str, args)],
            cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if not report.is_file():
            raise AssertionError(f"tests/reaper.py wrote no report (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        left = json.loads(report.read_text())["left"]
    return proc, {int(pid): cmd for pid, cmd in left.items()}


# The known mistakes by tier: the problems whose mistakes grade in seconds in this process
# (tests/unit/authoring/test_mistakes.py, on the in-process runner) and the others, whose checks train
# or time networks for minutes (tests/system/test_known_mistakes.py, through the command line).
ASSIGNMENTS = ["mfdnn-hw5", "mfdnn-hw7", "ese546-hw2", "data598-hw3"]
QUICK_PROBLEMS = [
    ("mfdnn-hw5", "backprop"), ("mfdnn-hw5", "momentum"), ("mfdnn-hw5", "bottleneck"),
    ("ese546-hw2", "lowrank"), ("ese546-hw2", "param_groups"), ("ese546-hw2", "clip_grad"),
    ("mfdnn-hw7", "softmax"), ("mfdnn-hw7", "conv_backprop"),
]


def load_mistakes(assignment: str) -> list[Mistake]:
    """The course's known mistakes of ``assignment`` (rubrics/<assignment>/mistakes.toml)."""
    return _mistakes.load(Course.locate(ROOT).assignment(assignment))


def build_class(course: Course, assignment: str, folder: Path, students: dict[str, dict[str, str]]) -> Path:
    """One folder per student: the reference's files, overridden by ``students[name]`` (file -> text)."""
    a = course.assignment(assignment)
    for name, overrides in students.items():
        d = folder / name
        d.mkdir(parents=True)
        for f in a.student_files:
            (d / f).write_text(overrides.get(f, (a.reference_dir / f).read_text()))
    return folder


PROGRESS = re.compile(r"^\s+\[\s*\d+/\d+\] (\S+): [\d.]+/[\d.]+ in ", re.M)


def progress_students(stderr: str) -> list[str]:
    """The students that `grader grade` reported as graded, in its progress lines' order."""
    return PROGRESS.findall(stderr)


def grade_class(folder: Path, out: Path, assignment: str, *extra: str) -> dict[str, dict]:
    proc = run_cli("grade", assignment, folder, "--out", out, "--seed", "12345", *extra)
    assert proc.returncode == 0, f"grader grade failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}


def fresh_venv(tmp: Path) -> Path:
    """A new virtual environment in which the grader is not installed. The grader's
    dependencies (torch: 5 GB) are already there, as on a student's laptop that has
    PyTorch: hard links of this environment's packages, minus the grader and pip, on the
    new one's path. (Hard links: a worker's private root shows only real folders of its
    path, and links to this checkout's venv would point outside them.)"""
    venv = tmp / "fresh"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    site = Path(sysconfig.get_paths()["purelib"])
    deps = tmp / "deps"
    deps.mkdir()
    for entry in site.iterdir():
        if re.match(r"(dl_grader|__editable__|pip\b|pip-|_distutils_hack|distutils-precedence)", entry.name):
            continue
        subprocess.run(["cp", "-al", entry, deps / entry.name], check=True)
    fresh_site = next((venv / "lib").glob("python3*/site-packages"))
    for old in fresh_site.iterdir():  # the venv's own old setuptools would hide the newer one torch needs
        if old.name.startswith(("setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence")):
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    (fresh_site / "deps.pth").write_text(f"{deps}\n")
    return venv
