"""What a worker does with its isolation policy (``grader._worker.isolation.Policy``, whose
form and checks tests/unit/worker/test_isolation_policy.py covers): it refuses a malformed one before it does
anything, the sizes it was given are its own, and what the policy leaves out it does not make."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import grader._sandbox.channel as channel
import grader._sandbox.isolation as isolation
import grader._sandbox.local as local
from grader._exceptions import StudentError
from grader._grading.runs import ProblemRun
from grader._sandbox.isolation import worker_policy
from grader._sandbox.runner import Limits, WorkerSpec
from workers import DRIVER, ISOLATED, SHARED

MALFORMED = [
    ('{"mode": "root", "uid": 5}', "mode root needs nproc, disk_mb and shm_mb"),
    ('{"mode": "none", "namespaces": ["pid", "user"]}', "namespaces ['pid', 'user'] names what is none of pid, mount, network, ipc"),
]


def test_the_worker_refuses_a_malformed_policy_before_it_does_anything(tmp_path: Path) -> None:
    """At its arguments (before it joins a cgroup, isolates itself or imports torch): exit
    status 2 and what is wrong. The same command with a good policy starts, says it is
    ready, and ends at the end of its requests."""
    sub = tmp_path / "sub"
    sub.mkdir()
    args = ["--req-fd", "0", "--rep-fd", "1", "--sub", str(sub), "--driver", str(DRIVER), "--module", "student",
            "--threads", "1", "--memory-mb", "512", "--file-mb", "8", "--cpu-seconds", "60", "--device", "cpu"]
    for text, why in MALFORMED:
        done = subprocess.run([sys.executable, "-I", str(isolation._WORKER_MAIN), *args, "--policy", text],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 2, done.stderr
        assert "the worker's isolation policy is malformed" in done.stderr and why in done.stderr, done.stderr
        assert '"ok"' not in done.stdout  # never ready
    good = worker_policy("none", Limits()).to_json()
    done = subprocess.run([sys.executable, "-I", str(isolation._WORKER_MAIN), *args, "--policy", good],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and '"ok"' in done.stdout, done.stderr


def _isolated(tmp_path: Path, source: str, limits: Limits) -> ProblemRun:
    (tmp_path / "sub.py").write_text(textwrap.dedent(source))
    spec = WorkerSpec(label="student/p", files={"sub.py": tmp_path / "sub.py"}, module="sub", driver=DRIVER, limits=limits)
    run = ProblemRun(SHARED, spec, import_timeout=10.0)
    run.start_test(20.0)
    return run


SIZES = """
    import os
    def mib(path):
        s = os.statvfs(path)
        return s.f_blocks * s.f_frsize >> 20
"""


@ISOLATED
def test_the_sizes_set_in_limits_are_the_isolated_workers_own(tmp_path: Path) -> None:
    """Two workers of different ``Limits``: each one's /tmp, /var/tmp, own folder and /dev/shm
    are tmpfs of its own limits' sizes (what the policy carried), not a default."""
    for n, limits in enumerate((Limits(threads=1, disk_mb=37, shm_mb=11), Limits(threads=1, disk_mb=41, shm_mb=13))):
        (tmp_path / str(n)).mkdir()
        run = _isolated(tmp_path / str(n), SIZES, limits)
        here = run.call("call", name="mib", path=".")["value"]
        sizes = [run.call("call", name="mib", path=p)["value"] for p in ("/tmp", "/var/tmp", "/dev/shm")]
        assert sizes == [limits.disk_mb, limits.disk_mb, limits.shm_mb] and here == limits.disk_mb, (sizes, here)
        run.close()


@ISOLATED
def test_what_a_policy_leaves_out_is_not_made_and_is_said(tmp_path: Path, caplog: pytest.LogCaptureFixture,
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
    run = _isolated(tmp_path / "full", source, Limits(threads=1))
    with pytest.raises(StudentError, match="Network is unreachable"):
        run.call("call", name="connect")
    run.close()

    built = local.worker_policy
    monkeypatch.setattr(local, "worker_policy", lambda *a: dataclasses.replace(built(*a), namespaces=("pid", "mount", "ipc")))
    monkeypatch.setattr(channel, "_warned", set())
    (tmp_path / "less").mkdir()
    with caplog.at_level(logging.WARNING, logger=channel.log.name):
        run = _isolated(tmp_path / "less", source, Limits(threads=1))
        with pytest.raises(StudentError, match="Connection refused"):
            run.call("call", name="connect")
        run.close()
    assert "network namespace (not in the policy): network not cut" in caplog.text
