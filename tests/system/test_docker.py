"""The Docker runner, against a real Docker engine and the grading image (`make image`).

Skipped when no engine or no image is here, unless GRADER_REQUIRE_DOCKER=1 (CI sets it:
there, a missing engine is a failure, not a skip).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader._exceptions import StudentError, WorkerCrashed, WorkerTimeout
from grader._sandbox.runner import Limits

from conftest import ROOT as REPO, docker_runner_or_skip, processes, run_cli
from workers import FORK_BOMB, make_run

IMAGE = os.environ.get("GRADER_TEST_IMAGE", "dl-grader:local")
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def runner():  # type: ignore[no-untyped-def]
    r = docker_runner_or_skip(IMAGE, prestart=False)  # each test sees only its own containers
    yield r
    r.close()


def ours(runner, label: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """Names of the grader's containers (one listing call: containers being removed meanwhile
    cannot make it fail, as inspecting each one would)."""
    from grader._sandbox.docker import LABEL

    return [c["Names"][0].lstrip("/") for c in runner.client.api.containers(all=True, filters={"label": label or LABEL})]


def test_a_spare_container_serves_the_next_worker_and_nothing_of_the_last(tmp_path: Path) -> None:
    """With prestart, a worker takes the container started for it ahead of time: the next
    worker's is already running (torch imported) while this one works; it is a new
    container, holding only the next submission's files; closing the runner removes all."""

    runner = docker_runner_or_skip(IMAGE)
    mine = f"dl-grader.owner={runner.owner}"
    try:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = make_run(tmp_path / "a", """
            import os
            def litter():
                with open("/tmp/left-by-a", "w") as f:
                    f.write("a")
                return sorted(n for n in os.listdir(".") if n != "__pycache__")
        """, runner=runner)
        assert first.call("call", name="litter")["value"] == ["sub.py"]
        deadline = time.monotonic() + 120
        while not runner.spares and time.monotonic() < deadline:
            time.sleep(0.2)
        (spare,) = runner.spares.values()
        second = make_run(tmp_path / "b", """
            import os
            def look():
                return [os.path.exists("/tmp/left-by-a"), sorted(n for n in os.listdir(".") if n != "__pycache__")]
        """, runner=runner)
        assert second.call("call", name="look")["value"] == [False, ["sub.py"]]
        assert second._worker is not None and second._worker.id == spare.id  # the spare, not a new start
        first.close()
        second.close()
        assert len(ours(runner, mine)) == 1  # the next spare, waiting
    finally:
        runner.close()
    assert not ours(runner, mine)


LITTER = """
    import os, signal, subprocess
    def litter():
        with open("/tmp/left-by-a", "w") as f:
            f.write("a")
        os.makedirs("/tmp/locked/inner")
        open("/tmp/locked/inner/x", "w").close()
        os.chmod("/tmp/locked/inner", 0)
        os.chmod("/tmp/locked", 0)
        with open("/dev/shm/left-by-a", "w") as f:
            f.write("a")
        subprocess.Popen(["sleep", "300"], start_new_session=True)  # a daemon of its own session
        return os.getpid()
    def attack_the_box():
        tried = {}
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
            try:
                os.kill(1, sig)
                tried[sig.name] = "sent"
            except OSError as exc:
                tried[sig.name] = type(exc).__name__
        for what in ("mem", "environ", "fd/0"):
            try:
                open(f"/proc/1/{what}", "rb").read(1)
                tried[what] = "read"
            except OSError as exc:
                tried[what] = type(exc).__name__
        return tried
"""

LOOK = """
    import os
    def look():
        procs = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    procs.append(open(f"/proc/{p}/cmdline", "rb").read().split(b"\\0")[0].decode())
                except OSError:
                    pass
        cg = [f"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"]
        limit = next((int(open(c).read()) for c in cg if os.path.exists(c)), None)
        return {"tmp": sorted(n for n in os.listdir("/tmp") if n != "__pycache__"), "shm": os.listdir("/dev/shm"), "procs": sorted(procs),
                "cwd": sorted(n for n in os.listdir(".") if n != "__pycache__"), "limit_mb": limit and limit >> 20}
"""


def test_a_submissions_next_worker_reuses_its_container_with_nothing_of_the_last(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One container per submission: its second worker runs in the container of its first
    (no new start, no new torch import), after the box killed everything the first left
    (a daemon of its own session too), emptied /tmp and /dev/shm (folders made unreadable
    too) and set the memory limit to the second worker's. The box is out of the student's
    reach. Another submission never gets that container: it is removed."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    first = make_run(tmp_path / "a", LITTER, runner=runner, submission="alice", memory_mb=1024)
    first.call("call", name="litter")
    assert first.call("call", name="attack_the_box")["value"] == {
        "SIGKILL": "sent", "SIGTERM": "sent", "SIGSTOP": "sent",  # sent, and ignored: PID 1 has no handlers
        "mem": "PermissionError", "environ": "PermissionError", "fd/0": "PermissionError"}  # not dumpable
    box = first._worker.id
    first.close()
    second = make_run(tmp_path / "b", LOOK, runner=runner, submission="alice", memory_mb=2048)
    seen = second.call("call", name="look")["value"]
    assert second._worker.id == box, "the submission's second worker did not reuse its container"
    assert seen["tmp"] == ["driver.py", "sub"] and seen["shm"] == [] and seen["cwd"] == ["sub.py"], seen
    assert seen["procs"] == ["python", "python"], seen  # the box and this worker: no sleep
    assert seen["limit_mb"] == 2048 + 512 + 256, seen  # memory + /tmp + /dev/shm
    second.close()
    assert ours(runner) == [runner.client.containers.get(box).name]  # kept for alice's next worker
    (tmp_path / "a2").mkdir()
    smaller = make_run(tmp_path / "a2", LOOK, runner=runner, submission="alice", memory_mb=1024)
    assert smaller.call("call", name="look")["value"]["limit_mb"] == 1024 + 512 + 256  # and down again
    assert smaller._worker.id == box
    smaller.close()
    third = make_run(tmp_path / "c", LOOK, runner=runner, submission="bob")
    third.call("call", name="look")
    assert third._worker.id != box
    assert box not in [c.id for c in runner.client.containers.list(all=True)]  # bob's start removed alice's
    third.close()
    runner.release("bob")
    assert not ours(runner)


def test_a_worker_that_dies_takes_its_container_with_it(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Only a worker that was asked to exit leaves its container to the next: after a
    crash (here os._exit(0), which the box cannot tell from a clean exit) the next worker
    of the same submission starts in a new one."""
    run = make_run(tmp_path, """
        import os
        def die():
            os._exit(0)
        def ok():
            return os.getpid()
    """, runner=runner, submission="carol")
    run.call("call", name="ok")
    box = run._worker.id
    with pytest.raises(WorkerCrashed, match="exited with status 0"):
        run.call("call", name="die")
    run.call("call", name="ok")
    assert run._worker.id != box
    run.close()
    runner.release("carol")
    assert not ours(runner)


def test_a_raise_and_an_exit_cost_one_call_each(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = make_run(tmp_path, """
        import os
        def bad():
            return 1 / 0
        def die():
            print("about to go")
            os._exit(3)
        def ok():
            return 7
    """, runner=runner)
    with pytest.raises(StudentError) as exc:
        run.call("call", name="bad")
    assert 'File "sub.py", line 4, in bad' in str(exc.value) and "worker.py" not in str(exc.value)
    with pytest.raises(WorkerCrashed, match="exited with status 3") as crash:
        run.call("call", name="die")
    assert "about to go" in str(crash.value)  # the student's last output, from the container's stderr
    assert run.call("call", name="ok")["value"] == 7  # a fresh container
    run.close()
    assert not ours(runner)


def test_a_hang_times_out_and_its_container_is_removed(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = make_run(tmp_path, """
        import signal, subprocess
        def hang():
            subprocess.Popen(["sleep", "299"])
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                pass
    """, budget=3.0, runner=runner)
    started = time.monotonic()
    with pytest.raises(WorkerTimeout, match="did not finish within 3 s"):
        run.call("call", name="hang")
    assert time.monotonic() - started < 15
    assert not ours(runner), "the timed-out container is still there"
    run.close()


def test_output_is_capped_and_memory_is_limited(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = make_run(tmp_path, """
        import sys, torch
        def flood():
            for _ in range(800):  # 50 MiB
                sys.stdout.write("x" * 65536)
            return 1
        def hog():
            return torch.ones(4 << 30, dtype=torch.uint8).sum().item()
    """, budget=60, runner=runner, memory_mb=1024)
    assert run.call("call", name="flood")["value"] == 1
    assert len(run.output()) < 3 * Limits().output_bytes and "more bytes of output dropped" in run.output()
    with pytest.raises((StudentError, WorkerCrashed), match="memory"):
        run.call("call", name="hog")
    run.close()


FLOOD = """
    import os
    def flood():
        block = b"x" * (1 << 20)
        for _ in range(1024):  # 1 GiB, in one call
            os.write(1, block)
        return 1
"""


def test_a_flood_costs_the_same_in_a_container_as_locally(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Through the engine's attach stream a gigabyte took longer than the test's limit, and the
    # same code passed locally: the box now drains a worker's prints in the container, as the
    # local runner does, and lets only the first part out.
    seconds = {}
    for name, r in (("container", runner), ("local", None)):
        (tmp_path / name).mkdir()
        run = make_run(tmp_path / name, FLOOD, budget=20, runner=r)
        started = time.monotonic()
        assert run.call("call", name="flood")["value"] == 1, name
        seconds[name] = time.monotonic() - started
        assert "more bytes of output dropped" in run.output() and len(run.output()) < 3 * Limits().output_bytes, name
        run.close()
    print(f"\n1 GiB of prints: {seconds}")


def test_the_container_is_shut(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Seen from inside: an unprivileged user, no capabilities, no new privileges, a read-only
    root and mount, a capped /tmp, no network, no Docker socket, none of the host's files."""
    run = make_run(tmp_path, f"""
        import os, socket
        def facts():
            status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
            def writable(path):
                try:
                    with open(os.path.join(path, "probe"), "w") as f:
                        f.write("x")
                    return True
                except OSError:
                    return False
            try:
                socket.create_connection(("1.1.1.1", 53), timeout=2)
                net = "connected"
            except OSError as exc:
                net = str(exc)
            st = os.statvfs("/tmp")
            return {{
                "uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
                "root_writable": writable("/"), "grader_writable": writable("/grader"), "tmp_writable": writable("/tmp"),
                "tmp_mb": st.f_blocks * st.f_frsize // (1 << 20), "net": net,
                "docker_sock": os.path.exists("/var/run/docker.sock") or os.path.exists("/run/docker.sock"),
                "host_repo": os.path.exists({str(REPO)!r}), "pids_max": open("/sys/fs/cgroup/pids.max").read().strip()
                    if os.path.exists("/sys/fs/cgroup/pids.max") else "?",
                "env": sorted(os.environ),
            }}
    """, runner=runner, disk_mb=128)
    facts = run.call("call", name="facts")["value"]
    run.close()
    assert facts["uid"] != 0 and facts["cap_eff"] == "0000000000000000" and facts["no_new_privs"] == "1", facts
    assert not facts["root_writable"] and not facts["grader_writable"] and facts["tmp_writable"], facts
    assert facts["tmp_mb"] <= 128, facts
    assert facts["net"] != "connected" and not facts["docker_sock"] and not facts["host_repo"], facts
    assert facts["pids_max"] in ("256", "?"), facts
    assert not any("TOKEN" in k or k.startswith("GRADER") for k in facts["env"]), facts


def test_a_fork_bomb_is_contained(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = make_run(tmp_path, FORK_BOMB, budget=5.0, runner=runner)
    with pytest.raises((WorkerTimeout, WorkerCrashed, StudentError)):
        run.call("call", name="bomb")
    run.start_test(20.0)
    assert run.call("call", name="ok")["value"] == 1  # a fresh container
    run.close()
    deadline = time.monotonic() + 120  # a container full of processes can take a while to die
    while ours(runner) and time.monotonic() < deadline:
        time.sleep(1)
        runner.retry_removals()
    assert not ours(runner)


def _verdicts(out: Path) -> dict:
    return {
        d.name: [(t["test"], t["outcome"], t["score"]) for t in json.loads((d / "result.json").read_text())["tests"]]
        for d in sorted(out.iterdir()) if d.is_dir()
    }  # fmt: skip


def test_the_same_verdicts_as_the_local_runner(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    classroom = tmp_path / "class"  # right, partly wrong, untouched template (a timeout is tested above)
    for who in ("erin", "frank", "heidi"):
        shutil.copytree(REPO / "examples" / "mfdnn-hw5" / who, classroom / who)
    local = run_cli("grade", "mfdnn-hw5", str(classroom), "--out", str(tmp_path / "local"), "--seed", "5")
    docker = run_cli("grade", "mfdnn-hw5", str(classroom), "--out", str(tmp_path / "docker"), "--seed", "5",
                     "--runner", "docker", "--image", IMAGE)  # fmt: skip
    assert local.returncode == 0, local.stderr[-3000:]
    assert docker.returncode == 0, docker.stderr[-3000:]
    assert "in Docker containers of" in docker.stderr
    assert _verdicts(tmp_path / "docker") == _verdicts(tmp_path / "local")
    assert not ours(runner)


def test_gpus_asked_for_on_a_machine_without_them_grade_on_the_cpu(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from grader._sandbox.docker import host_has_gpu

    if host_has_gpu():
        pytest.skip("this machine has a GPU")
    classroom = tmp_path / "class"
    shutil.copytree(REPO / "examples" / "mfdnn-hw5" / "heidi", classroom / "heidi")
    out = run_cli("grade", "mfdnn-hw5", str(classroom), "--out", str(tmp_path / "o"),
                  "--runner", "docker", "--gpus", "all", "--problem", "momentum", "--image", IMAGE)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "this machine has no NVIDIA GPU: grading on the CPU" in out.stderr
    assert json.loads((tmp_path / "o" / "heidi" / "result.json").read_text())["device"] == "cpu"


def _jobs_alive(out: Path) -> list[int]:
    """Processes still grading into ``out`` (a batch's jobs)."""
    return [pid for pid, (_, cmd) in processes().items() if str(out) in cmd]


@pytest.mark.parametrize("how", ["interrupt", "kill"])
def test_an_interrupted_batch_leaves_no_container(runner, tmp_path: Path, how: str) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C (or SIGTERM) removes the batch's containers on the way out; after a SIGKILL the
    next grader to start removes what the dead one left."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "grade", "mfdnn-hw5", str(REPO / "examples" / "mfdnn-hw5"),
         "--out", str(tmp_path / "o"), "--runner", "docker", "--image", IMAGE],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # Ctrl-C as at a terminal, however CI was started
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not ours(runner) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert ours(runner), "no container was started"
        proc.send_signal(signal.SIGINT if how == "interrupt" else signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if how == "kill":
        from grader._sandbox.docker import DockerRunner

        assert ours(runner), "SIGKILL leaves the container (nothing ran on the way out)"
        # The batch's jobs die with it (parent-death signal); once they are gone, the next
        # grader to start removes what they left.
        deadline = time.monotonic() + 10
        while _jobs_alive(tmp_path / "o") and time.monotonic() < deadline:
            time.sleep(0.1)
        # What the jobs asked of the engine just before they died may still be landing (a
        # container created and started a moment later): let the engine settle, as it has
        # long before any real next grader starts.
        seen, quiet = ours(runner), time.monotonic()
        while time.monotonic() - quiet < 1.0 and time.monotonic() < deadline + 20:
            time.sleep(0.1)
            if (now := ours(runner)) != seen:
                seen, quiet = now, time.monotonic()
        DockerRunner(IMAGE).close()
    assert not ours(runner), ours(runner)
