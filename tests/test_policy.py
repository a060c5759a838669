"""The worker's isolation policy is one object (``grader._worker.isolation.Policy``): built by
the trusted side from the runner's mode and the worker's ``Limits`` (``worker_policy``), sent
as JSON, read and checked by the worker before anything else, and what ``isolate`` makes."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import grader._sandbox.runner as sandbox
from grader._exceptions import SandboxError, StudentError
from grader._grading.runs import ProblemRun
from grader._sandbox.runner import Limits, LocalRunner, WorkerSpec, local_isolation, worker_policy
from grader._worker.isolation import Policy

DRIVER = Path(__file__).parent / "sandbox" / "driver.py"
ISOLATION, WHY_NOT = local_isolation()
ISOLATED = pytest.mark.skipif(ISOLATION == "none", reason=f"workers cannot be isolated here: {WHY_NOT}")


def test_every_policy_the_trusted_side_builds_comes_back_the_same_from_its_json() -> None:
    limits = Limits(disk_mb=37, shm_mb=11, nproc=99)
    built = [worker_policy("root", limits, 1 << 21, (Path("/srv/course/rubrics"), Path("/srv/out"))),
             worker_policy("rootless", limits, None, (Path("/home/ta/reference"),)),
             worker_policy("none", limits)]
    # and one whose fixed parts are not the defaults: every field is written and read
    built.append(dataclasses.replace(built[0], namespaces=("pid", "mount"), system=("usr",), devices=("null",),
                                     device_prefixes=(), scratch=("/tmp",), after=("seccomp",)))
    for policy in built:
        text = policy.to_json()
        assert text.isascii() and "\n" not in text  # one command-line argument
        assert Policy.from_json(text) == policy
    assert len({p.to_json() for p in built}) == len(built)


def test_the_policy_holds_what_the_trusted_side_set_from_limits() -> None:
    """A changed limit reaches the policy, the policy's JSON and so the worker; the mode
    decides whether it is sent at all ("none" sets no size, as before)."""
    hide = (Path("/srv/course/rubrics"),)
    for limits in (Limits(), Limits(disk_mb=37, shm_mb=11, nproc=99)):
        for mode, uid in (("root", 1 << 21), ("rootless", None)):
            read = Policy.from_json(worker_policy(mode, limits, uid, hide).to_json())
            assert (read.mode, read.uid, read.hide) == (mode, uid, tuple(str(p) for p in hide))
            assert (read.disk_mb, read.shm_mb, read.nproc) == (limits.disk_mb, limits.shm_mb, limits.nproc)
        none = Policy.from_json(worker_policy("none", limits, None, hide).to_json())
        assert (none.mode, none.uid, none.hide, none.disk_mb, none.shm_mb, none.nproc) == ("none", None, (), None, None, None)


MALFORMED = [
    ("not json", "not JSON"),
    ('["root"]', "a list, not an object"),
    ('{"uid": 5}', "no mode"),
    ('{"mode": "none", "nprocs": 5}', "unknown field(s) nprocs"),
    ('{"mode": "docker"}', "mode 'docker' is none of root, rootless, none"),
    ('{"mode": "root", "uid": 5}', "mode root needs nproc, disk_mb and shm_mb"),
    ('{"mode": "rootless", "disk_mb": 5, "shm_mb": 5}', "mode rootless needs nproc, disk_mb and shm_mb"),
    ('{"mode": "root", "nproc": 9, "disk_mb": 5, "shm_mb": 5}', "a uid goes with mode root, and only with it"),
    ('{"mode": "rootless", "uid": 5, "nproc": 9, "disk_mb": 5, "shm_mb": 5}', "a uid goes with mode root, and only with it"),
    ('{"mode": "root", "uid": 5, "nproc": 9, "disk_mb": 0, "shm_mb": 5}', "disk_mb 0 is not an integer from 1"),
    ('{"mode": "root", "uid": -1, "nproc": 9, "disk_mb": 5, "shm_mb": 5}', "uid -1 is not an integer from 0"),
    ('{"mode": "none", "nproc": "9"}', "nproc '9' is not an integer"),
    ('{"mode": "none", "nproc": true}', "nproc True is not an integer"),
    ('{"mode": "none", "hide": "/srv/course"}', "hide '/srv/course' is not a list of non-empty strings"),
    ('{"mode": "none", "hide": [""]}', "is not a list of non-empty strings"),
    ('{"mode": "none", "namespaces": ["pid", "user"]}', "namespaces ['pid', 'user'] names what is none of pid, mount, network, ipc"),
    ('{"mode": "none", "after": ["seccomp", "sudo"]}', "names what is none of no_new_privs, capabilities, seccomp"),
    ('{"mode": "none", "system": ["usr", "../home"]}', "holds a path: names in / and /dev only"),
    ('{"mode": "none", "devices": ["/dev/tty"]}', "holds a path: names in / and /dev only"),
    ('{"mode": "none", "scratch": ["tmp"]}', "not absolute and plain"),
    ('{"mode": "none", "scratch": ["/tmp/../home"]}', "not absolute and plain"),
]


@pytest.mark.parametrize("text,why", MALFORMED)
def test_a_malformed_policy_is_refused_saying_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="the worker's isolation policy is malformed") as raised:
        Policy.from_json(text)
    assert why in str(raised.value)


def test_a_policy_is_checked_when_built_too() -> None:
    with pytest.raises(ValueError, match="a uid goes with mode root"):
        Policy(mode="root", nproc=1, disk_mb=1, shm_mb=1)
    with pytest.raises(SandboxError, match="cannot start a worker: .*disk_mb 0"):
        worker_policy("rootless", Limits(disk_mb=0))  # tmpfs size=0 would be no bound at all
    assert worker_policy("rootless", Limits()).disk_mb == Limits().disk_mb  # (the same call with a bound is fine)


def test_the_worker_refuses_a_malformed_policy_before_it_does_anything(tmp_path: Path) -> None:
    """At its arguments (before it joins a cgroup, isolates itself or imports torch): exit
    status 2 and what is wrong. The same command with a good policy starts, says it is
    ready, and ends at the end of its requests."""
    sub = tmp_path / "sub"
    sub.mkdir()
    args = ["--req-fd", "0", "--rep-fd", "1", "--sub", str(sub), "--driver", str(DRIVER), "--module", "student",
            "--threads", "1", "--memory-mb", "512", "--file-mb", "8", "--cpu-seconds", "60", "--device", "cpu"]
    for text, why in (MALFORMED[5], MALFORMED[15]):
        done = subprocess.run([sys.executable, "-I", str(sandbox._WORKER_MAIN), *args, "--policy", text],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 2, done.stderr
        assert "the worker's isolation policy is malformed" in done.stderr and why in done.stderr, done.stderr
        assert '"ok"' not in done.stdout  # never ready
    good = worker_policy("none", Limits()).to_json()
    done = subprocess.run([sys.executable, "-I", str(sandbox._WORKER_MAIN), *args, "--policy", good],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and '"ok"' in done.stdout, done.stderr


@pytest.fixture(scope="module")
def runner():  # type: ignore[no-untyped-def]
    made = LocalRunner()
    yield made
    made.close()


def _isolated(runner: LocalRunner, tmp_path: Path, source: str, limits: Limits) -> ProblemRun:
    (tmp_path / "sub.py").write_text(textwrap.dedent(source))
    spec = WorkerSpec(label="student/p", files={"sub.py": tmp_path / "sub.py"}, module="sub", driver=DRIVER, limits=limits)
    run = ProblemRun(runner, spec, import_timeout=10.0)
    run.start_test(20.0)
    return run


SIZES = """
    import os
    def mib(path):
        s = os.statvfs(path)
        return s.f_blocks * s.f_frsize >> 20
"""


@ISOLATED
def test_the_sizes_set_in_limits_are_the_isolated_workers_own(runner: LocalRunner, tmp_path: Path) -> None:
    """Two workers of different ``Limits``: each one's /tmp, /var/tmp, own folder and /dev/shm
    are tmpfs of its own limits' sizes (what the policy carried), not a default."""
    for n, limits in enumerate((Limits(threads=1, disk_mb=37, shm_mb=11), Limits(threads=1, disk_mb=41, shm_mb=13))):
        (tmp_path / str(n)).mkdir()
        run = _isolated(runner, tmp_path / str(n), SIZES, limits)
        here = run.call("call", name="mib", path=".")["value"]
        sizes = [run.call("call", name="mib", path=p)["value"] for p in ("/tmp", "/var/tmp", "/dev/shm")]
        assert sizes == [limits.disk_mb, limits.disk_mb, limits.shm_mb] and here == limits.disk_mb, (sizes, here)
        run.close()


@ISOLATED
def test_what_a_policy_leaves_out_is_not_made_and_is_said(runner: LocalRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker makes what the policy names, no more: a policy without the network
    namespace leaves the network (loopback refuses, instead of no network at all), and the
    worker's notes say so."""
    source = """
        import socket
        def connect():
            socket.create_connection(("127.0.0.1", 9), timeout=2)
    """
    (tmp_path / "full").mkdir()
    run = _isolated(runner, tmp_path / "full", source, Limits(threads=1))
    with pytest.raises(StudentError, match="Network is unreachable"):
        run.call("call", name="connect")
    run.close()

    built = sandbox.worker_policy
    monkeypatch.setattr(sandbox, "worker_policy", lambda *a: dataclasses.replace(built(*a), namespaces=("pid", "mount", "ipc")))
    monkeypatch.setattr(sandbox, "_warned", set())
    (tmp_path / "less").mkdir()
    with caplog.at_level(logging.WARNING, logger=sandbox.log.name):
        run = _isolated(runner, tmp_path / "less", source, Limits(threads=1))
        with pytest.raises(StudentError, match="Connection refused"):
            run.call("call", name="connect")
        run.close()
    assert "network namespace (not in the policy): network not cut" in caplog.text
