"""The worker's isolation policy is one object (``grader._worker.isolation.Policy``): built by
the trusted side from the runner's mode and the worker's ``Limits`` (``worker_policy``), sent
as JSON, read and checked by the worker before anything else (what a worker does with it:
tests/security/test_policy_in_workers.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from grader._exceptions import SandboxError
from grader._sandbox.isolation import worker_policy
from grader._sandbox.runner import Limits
from grader._worker.isolation import Policy


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
