"""Timing attacks on mfdnn-hw7's bn_remove, graded in one batch beside honest students (issue 13).

Each case of tests/security/hostile_timing/cases.toml is one student whose bn_remove.py is right
where it is checked but about 8x slower than train_net.eval(), and tries to win
test_not_slower anyway: by handing the timer something else than what was checked, by
remembering answers, by slowing the baseline from processes the freeze used to skip, or
by answering timed requests itself. Two honest students (the reference) sit between them.
The class is graded through the CLI with the batch's default number of jobs (two here: a
timing check must also hold while another job grades a hostile neighbour), once with
local workers and once in containers; local workers as root (a uid and a cgroup of their
own) and, in CI, as an ordinary user (rootless: no cgroup, so every freeze is by signals,
checked to be complete). Every case must score exactly what the cases file
says (test_not_slower failed, everything else passed); the honest students keep 25/25;
nothing is left running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT, docker_runner_or_skip, processes, run_cli_reaped
from grader._sandbox.isolation import local_isolation

ISOLATION, WHY_NOT = local_isolation()
pytestmark = [pytest.mark.skipif(ISOLATION == "none", reason=f"hostile workers must run isolated: {WHY_NOT}")]

HERE = Path(__file__).parent / "hostile_timing"


def xdist_group(item: pytest.Function) -> str:
    """Under pytest-xdist, the tests of one runner's class in one process (it is graded once)."""
    kind = getattr(item, "callspec", None) and item.callspec.params.get("graded")
    return f"hostile-timing-{kind or 'static'}"
CASES: list[dict] = tomllib.loads((HERE / "cases.toml").read_text())["case"]
HONEST = ["honest_a", "m_honest"]
SEED = 29705
WORKER_UID_BASE = 1 << 20


@pytest.fixture(scope="module", params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    extra: list[str] = []
    if request.param == "docker":
        image = os.environ.get("GRADER_TEST_IMAGE", "dl-grader:local")
        docker_runner_or_skip(image).close()
        extra = ["--runner", "docker", "--image", image]
    root = tmp_path_factory.mktemp("hostile-timing")
    classroom, out = root / "class", root / "out"
    for case in CASES:
        (classroom / case["id"]).mkdir(parents=True)
        shutil.copyfile(HERE / case["id"] / "bn_remove.py", classroom / case["id"] / "bn_remove.py")
    for name in HONEST:
        (classroom / name).mkdir()
        shutil.copyfile(ROOT / "reference" / "mfdnn-hw7" / "bn_remove.py", classroom / name / "bn_remove.py")
    before = set(processes())
    started = time.monotonic()
    # What still descends from the run a second after it ended is this batch's, and ended by the reaper.
    proc, left = run_cli_reaped("grade", "mfdnn-hw7", classroom, "--out", out, "--seed", str(SEED), "--problem", "bn_remove", *extra, timeout=1500)
    print(f"\nhostile timing batch ({request.param}): {len(CASES)} + {len(HONEST)} students in {time.monotonic() - started:.0f} s")
    assert proc.returncode == 0, proc.stderr[-4000:]
    for pid, (uid, cmd) in processes().items():
        if pid not in before and pid not in left and _a_worker(uid, cmd, root):
            left[pid] = cmd
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}
    results["__left__"] = left  # type: ignore[assignment]
    return results


def _a_worker(uid: int, cmd: str, root: Path) -> bool:
    """As root, a worker of this batch even outside the grader run's tree (a container's,
    under Docker's runner): a worker's uid, with a command line naming the batch's folders,
    which it hides. Rootless, only the tree tells (``run_cli_reaped``): every worker of every
    grader run of this user has this uid and a PID namespace of its own, so the rule of old
    ("this user's process in a PID namespace below this one") caught, and SIGKILLed, the
    workers of another batch graded beside this one."""
    return ISOLATION == "root" and uid >= WORKER_UID_BASE and str(root) in cmd


def _detail(result: dict) -> str:
    return "\n".join(f"  {t['test']}: {t['outcome']}: {t['output'][:400]}" for t in result["tests"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_a_timing_attack_wins_nothing(graded: dict[str, dict], case: dict) -> None:
    result = graded[case["id"]]
    outcomes = {t["test"]: t["outcome"] for t in result["tests"]}
    scores = {p["id"]: p["score"] for p in result["problems"]}
    if case.get("at_most"):  # a worker stopped for good fails the test it was in, whichever that was
        assert scores.keys() == case["scores"].keys(), scores
        assert all(scores[k] <= v for k, v in case["scores"].items()), f"{case['id']}: {case['what']}\n{_detail(result)}"
        timed = [t for t, want in case["outcomes"].items() if want != "passed"]
        assert all(outcomes[t] != "passed" for t in timed), f"{case['id']}\n{_detail(result)}"
        grader_failed = [t["test"] for t in result["tests"] if "grader itself failed" in t.get("output", "")]
        assert not grader_failed, f"{case['id']}: no verdict on {grader_failed}\n{_detail(result)}"
        return
    assert scores == case["scores"], f"{case['id']}: {case['what']}\n{_detail(result)}"
    assert outcomes == {t: _as_timed(t, want, outcomes.get(t)) for t, want in case["outcomes"].items()}, \
        f"{case['id']}\n{_detail(result)}"


def _as_timed(test: str, want: str, got: str | None) -> str:
    """The outcome ``want`` as this run may give it: an 8x-slow network's timing check that
    ran out of the test's time before its first round ended is a timeout, not "slower": 0
    points either way (the scores are compared exactly). Rootless, limits count wall time (a
    count from /proc could be hidden from: see tests/security/test_sandbox.py), and on a
    loaded CI machine (load 30 on 2 cores, slow_baseline's own 20 burner threads beside it)
    the warm-up and a round of 5 batches took more than the 60 s of test_not_slower."""
    return got if test == "test_not_slower" and want == "failed" and got == "timeout" else want


def test_honest_neighbours_keep_full_marks(graded: dict[str, dict]) -> None:
    for name in HONEST:
        result = graded[name]
        assert result["score"] == result["max_score"] == 25, f"{name}\n{_detail(result)}"


def test_no_process_is_left_running(graded: dict[str, dict]) -> None:
    assert not graded["__left__"], graded["__left__"]
