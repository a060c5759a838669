"""The boundary: what a student's code can do to its worker, and what it cannot do to the grader."""

from __future__ import annotations

import os
import re
import textwrap
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from grader._exceptions import MissingFile, StudentError, WorkerCrashed, WorkerTimeout, WrongAnswer
from grader._grading.runs import ProblemRun
from grader._sandbox.local import LocalRunner
from grader._sandbox.runner import Limits, WorkerSpec

from workers import DRIVER, FORK_BOMB, ISOLATED, ISOLATION, SHARED, make_run


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_raise_shows_the_students_frames_only_and_the_worker_survives(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        import os
        def bad():
            return 1 / 0
        def pid():
            return os.getpid()
    """)
    first = run.call("call", name="pid")["value"]
    with pytest.raises(StudentError) as exc:
        run.call("call", name="bad")
    message = str(exc.value)
    assert "ZeroDivisionError" in message and 'File "sub.py", line 4, in bad' in message
    assert "worker.py" not in message and "driver.py" not in message
    assert run.call("call", name="pid")["value"] == first  # same worker: an exception is not a crash
    run.close()


@pytest.mark.parametrize("how, error, expect", [
    ("sys.exit(3)", StudentError, "your code called exit[(]3[)]"),
    ("raise KeyboardInterrupt", StudentError, "KeyboardInterrupt"),
    ("os._exit(0)", WorkerCrashed, "exited with status 0"),
    ("os.kill(os.getpid(), signal.SIGSEGV)", WorkerCrashed, "segmentation fault"),
    ("os.kill(os.getpid(), signal.SIGKILL)", WorkerCrashed, "was killed"),
])  # fmt: skip
def test_an_exit_costs_one_call_and_the_next_call_still_runs(tmp_path: Path, how: str, error: type, expect: str) -> None:
    run = make_run(tmp_path, f"""
        import os, signal, sys
        def die():
            print("about to go")
            {how}
        def ok():
            return 7
    """)
    with pytest.raises(error, match=expect) as exc:
        run.call("call", name="die")
    if error is WorkerCrashed:
        assert "about to go" in str(exc.value)  # the student's last output is shown, even after a hard exit
    assert "worker.py" not in str(exc.value)
    assert run.call("call", name="ok")["value"] == 7
    run.close()


def test_a_hang_times_out_and_nothing_it_started_survives(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        import os, subprocess, signal
        def spawn_and_hang():
            child = subprocess.Popen(["sleep", "299.123"])
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with open("child.pid", "w") as f:
                f.write(str(child.pid))
            while True:
                pass
        def child_pid():
            return int(open("child.pid").read())
    """, budget=3.0)
    started = time.monotonic()
    with pytest.raises(WorkerTimeout, match="did not finish within 3 s"):
        run.call("call", name="spawn_and_hang")
    assert time.monotonic() - started < 10
    worker_dir = run._worker  # the dead worker was dropped
    assert worker_dir is None
    # Nothing of that worker is left: no `sleep 299.123` of its group.
    time.sleep(0.5)
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == ["sleep", "299.123"]]
    assert not leftovers, "a process the student started outlived the timeout"
    run.close()


def _cmdline(p: Path) -> list[str]:
    try:
        return p.joinpath("cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


def test_an_import_that_hangs_is_timed_out_once(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        while True:
            pass
    """)
    with pytest.raises(WorkerTimeout, match="Importing sub.py did not finish"):
        run.call("call", name="x")
    started = time.monotonic()
    with pytest.raises(WorkerTimeout):
        run.call("call", name="x")
    assert time.monotonic() - started < 1, "a second test must not wait for the same import again"


def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        def f(:
            pass
    """)
    with pytest.raises(StudentError, match=r"Importing sub.py failed: SyntaxError.*\n.*line 2"):
        run.call("call", name="f")


def test_a_missing_file_is_reported_without_starting_a_worker(tmp_path: Path) -> None:
    spec = WorkerSpec(label="s/p", files={}, module="sub", driver=DRIVER)
    run = ProblemRun(SHARED, spec, import_timeout=5, missing="sub.py was not submitted.")
    with pytest.raises(MissingFile, match="not submitted"):
        run.call("call", name="f")


def test_an_output_flood_is_drained_and_capped(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        import sys
        def flood():
            chunk = "x" * 65536
            for _ in range(1600):  # 100 MiB
                sys.stdout.write(chunk)
                sys.stderr.write(chunk)
            return 1
    """, budget=60)
    assert run.call("call", name="flood")["value"] == 1
    out = run.output()
    assert len(out) < 3 * Limits().output_bytes
    assert "more bytes of output dropped" in out
    run.close()


def test_the_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "s3cret-token")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    run = make_run(tmp_path, """
        import os, sys
        def env():
            return dict(os.environ)
        def path():
            return sys.path
    """)
    env = run.call("call", name="env")["value"]
    assert "INSTRUCTOR_TOKEN" not in env and "s3cret-token" not in repr(env)
    assert not any(k.startswith("PYTHON") and k != "PYTHONDONTWRITEBYTECODE" for k in env)
    assert "/somewhere/else" not in run.call("call", name="path")["value"]
    run.close()


def test_only_plain_data_comes_back(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        import torch
        class Liar(torch.Tensor):
            def __eq__(self, other):
                return True
        def subclass():
            return {"t": torch.zeros(3).as_subclass(Liar), "ts": [torch.ones(2)], "n": 3}
        def an_object():
            return {"o": object()}
    """)
    got = run.call("returns", name="subclass")
    assert type(got["t"]) is torch.Tensor and type(got["ts"][0]) is torch.Tensor and got["n"] == 3
    with pytest.raises(WrongAnswer, match="holds a object, not a tensor, number, string, list, tuple or dict"):
        run.call("returns", name="an_object")
    run.close()


def test_memory_is_limited(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        import torch
        def hog():
            return torch.ones(4 << 30, dtype=torch.uint8).sum().item()
    """, memory_mb=1024)
    with pytest.raises((StudentError, WorkerCrashed), match="memory"):
        run.call("call", name="hog")
    run.close()


@ISOLATED
def test_an_isolated_worker_cannot_touch_the_grader(tmp_path: Path) -> None:
    secret = tmp_path / "hidden_test.py"
    secret.write_text("ANSWER = 42")
    secret.chmod(0o600)
    run = make_run(tmp_path / "sub", f"""
        import os, signal
        def whoami():
            return os.geteuid()
        def read_secret():
            return open({str(secret)!r}).read()
        def kill_grader():
            os.kill({os.getpid()}, signal.SIGKILL)
        def kill_parent():
            os.kill(os.getppid(), signal.SIGKILL)  # its namespace's PID 1: the signal is dropped
            return os.getppid()
    """) if (tmp_path / "sub").mkdir() is None else None
    assert run is not None
    assert run.call("call", name="whoami")["value"] != 0
    with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):
        run.call("call", name="read_secret")
    with pytest.raises(StudentError, match="PermissionError|ProcessLookupError"):  # another uid, not even in sight
        run.call("call", name="kill_grader")
    assert run.call("call", name="kill_parent")["value"] == 1
    assert run.call("call", name="whoami")["value"] != 0  # the same worker goes on
    run.close()


SHARED_UID_ATTACKS = """
    import ctypes, errno, os, pwd, signal, sys
    libc = ctypes.CDLL(None, use_errno=True)
    def ptrace(pid):
        if libc.ptrace(16, pid, 0, 0) != 0:  # PTRACE_ATTACH
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return "attached"
    def kill_everything():
        os.kill(-1, signal.SIGKILL)  # every process this uid may signal: only its own namespace's
        return "alive"
    def environ(pid):
        return open(f"/proc/{pid}/environ", "rb").read().decode("latin-1")
    def signal_pid(pid):
        os.kill(pid, signal.SIGSTOP)
    def home_secret(path):
        return open(path).read()
    def write_venv():
        with open(os.path.join(sys.prefix, "pwned-by-student.pth"), "w") as f:
            f.write("import os")
    def remount_venv():
        if libc.mount(b"none", sys.prefix.encode(), None, 32 | 4096, None) != 0:  # MS_REMOUNT|MS_BIND: writable again
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    def nested_namespace():
        if libc.unshare(0x10000000 | 0x20000) != 0:  # a user namespace of its own: capabilities back
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    def fill_disk():
        written, block = 0, b"x" * (1 << 20)
        for place in ("/tmp", "/var/tmp", "/dev/shm", os.getcwd(), os.path.expanduser("~")):
            for i in range(200):  # files of 32 MiB (under the file-size limit) until the place is full
                try:
                    with open(os.path.join(place, f"fill{i}.bin"), "wb") as f:
                        for _ in range(32):
                            f.write(block)
                            written += 1
                except OSError:
                    break
        return written
    def ok():
        return 1
"""


@ISOLATED
def test_sharing_a_uid_with_the_grader_and_the_other_workers_opens_nothing(tmp_path: Path) -> None:
    """Rootless, every worker and the grader are one uid: what a uid kept apart as root is
    kept apart by the namespaces, the dropped capabilities and the seccomp filter."""
    import sys

    secret = Path.home() / f".grader-test-secret-{os.getpid()}"
    secret.write_text("HOME-SECRET")
    secret.chmod(0o600)
    os.environ["GRADER_TEST_ENV_SECRET"] = "ENV-SECRET-42"
    try:
        run = make_isolated(tmp_path, SHARED_UID_ATTACKS)
        neighbour = make_isolated(tmp_path / "n", SHARED_UID_ATTACKS) if (tmp_path / "n").mkdir() is None else None
        assert neighbour is not None and neighbour.call("call", name="ok")["value"] == 1
        other = neighbour._worker.proc.pid  # type: ignore[union-attr]  # its process as this side sees it
        for pid in (os.getpid(), other):
            with pytest.raises(StudentError, match="Operation not permitted|No such process"):
                run.call("call", name="ptrace", pid=pid)
            with pytest.raises(StudentError, match="FileNotFoundError|PermissionError"):
                run.call("call", name="environ", pid=pid)
            with pytest.raises(StudentError, match="ProcessLookupError|PermissionError"):
                run.call("call", name="signal_pid", pid=pid)
        with pytest.raises(StudentError, match="FileNotFoundError|PermissionError"):
            run.call("call", name="home_secret", path=str(secret))
        with pytest.raises(StudentError, match="Read-only file system|PermissionError"):
            run.call("call", name="write_venv")
        with pytest.raises(StudentError, match="Operation not permitted"):
            run.call("call", name="remount_venv")
        with pytest.raises(StudentError, match="Operation not permitted"):
            run.call("call", name="nested_namespace")
        written = run.call("call", name="fill_disk")["value"]
        assert written <= 512 + 512 + 256 + 2, f"{written} MiB written"  # its own /tmp (home in it), /var/tmp, /dev/shm: no disk, no quota
        with pytest.raises((WorkerCrashed, StudentError)):
            run.call("call", name="kill_everything")  # it kills itself (and its PID 1), nothing else
        assert neighbour.call("call", name="ok")["value"] == 1  # the neighbour, the zygote and the grader live on
        run.close()
        neighbour.close()
        assert not list(Path(sys.prefix).glob("pwned-by-student*"))
    finally:
        secret.unlink()
        del os.environ["GRADER_TEST_ENV_SECRET"]


def make_isolated(tmp_path: Path, source: str, hide: tuple[Path, ...] = (), budget: float = 20.0) -> ProblemRun:
    folder = tmp_path / "student"
    folder.mkdir(exist_ok=True)
    (folder / "sub.py").write_text(textwrap.dedent(source))
    spec = WorkerSpec(label="student/p", files={"sub.py": folder / "sub.py"}, module="sub", driver=DRIVER,
                      limits=Limits(threads=1), hide=hide)  # fmt: skip
    run = ProblemRun(SHARED, spec, import_timeout=10.0)
    run.start_test(budget)
    return run


@ISOLATED
def test_course_secrets_other_students_and_the_network_are_out_of_reach(tmp_path: Path) -> None:
    from conftest import ROOT

    rubrics, reference = ROOT / "rubrics", ROOT / "reference"  # world-readable on disk
    assert (reference / "mfdnn-hw5" / "backprop.py").stat().st_mode & 0o004
    run = make_isolated(tmp_path, f"""
        import os, socket
        def listing():
            return os.listdir({str(rubrics)!r})
        def solution():
            return open({str(reference / "mfdnn-hw5" / "backprop.py")!r}).read()
        def connect():
            socket.create_connection(("127.0.0.1", 9), timeout=2)
        def my_folder():
            return os.getcwd()
        def read(path):
            return open(path).read()
    """, hide=(rubrics, reference))
    with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):
        run.call("call", name="listing")
    with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):
        run.call("call", name="solution")
    with pytest.raises(StudentError, match="Network is unreachable"):
        run.call("call", name="connect")
    other = make_isolated(tmp_path / "other", """
        import os
        def my_folder():
            return os.getcwd()
    """) if (tmp_path / "other").mkdir() is None else None
    assert other is not None
    theirs = other.call("call", name="my_folder")["value"]
    with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):
        run.call("call", name="read", path=theirs + "/sub.py")
    run.close()
    other.close()


@ISOLATED
def test_a_process_that_left_the_session_is_killed_too(tmp_path: Path) -> None:
    run = make_isolated(tmp_path, """
        import subprocess
        def escape_and_hang():
            subprocess.Popen(["sleep", "298.7"], start_new_session=True)
            while True:
                pass
    """, budget=3.0)
    with pytest.raises(WorkerTimeout):
        run.call("call", name="escape_and_hang")
    time.sleep(0.5)
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == ["sleep", "298.7"]]


@ISOLATED
def test_a_fork_bomb_is_contained(tmp_path: Path) -> None:
    """The bomb stops at the worker's own bound (Limits.nproc: RLIMIT_NPROC, which rootless
    the kernel counts in the worker's user namespace), while the grader can still start
    processes: the user's own limit is not exhausted."""
    import subprocess
    import threading

    run = make_isolated(tmp_path, FORK_BOMB, budget=4.0)
    assert run.call("call", name="ok")["value"] == 1
    worker = run._worker
    assert worker is not None
    counts: list[int] = []
    started: list[bool] = []

    def watch() -> None:
        time.sleep(1.5)  # the bomb is at its bound by now
        counts.append(worker._every(0))  # type: ignore[attr-defined]  # signal 0: a count, nothing sent
        started.append(subprocess.run(["true"], timeout=10).returncode == 0)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with pytest.raises((WorkerTimeout, WorkerCrashed, StudentError)):
        run.call("call", name="bomb")
    watcher.join()
    assert started == [True]  # the grader started a process while the bomb was at its bound
    assert 0 < counts[0] <= Limits().nproc + 2, counts  # its processes, PID 1 and the outer one
    print(f"fork bomb held at {counts[0]} processes (bound {Limits().nproc})")
    run.start_test(20.0)
    assert run.call("call", name="ok")["value"] == 1  # the grader and a fresh worker are fine
    run.close()


@ISOLATED
def test_shared_memory_is_capped(tmp_path: Path) -> None:
    run = make_isolated(tmp_path, """
        def fill():
            for i in range(10):  # 10 files of 40 MiB: each under the file-size limit, together over the cap
                with open(f"/dev/shm/big{i}", "wb") as f:
                    for _ in range(40):
                        f.write(b"x" * (1 << 20))
    """)
    with pytest.raises(StudentError, match="No space left"):
        run.call("call", name="fill")
    run.close()


def test_cpu_time_is_limited_from_when_the_students_code_starts(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        def spin():
            while True:
                pass
        def ok():
            return 1
    """, budget=30, cpu_seconds=2)
    assert run.call("call", name="ok")["value"] == 1  # importing torch (seconds of CPU) did not use the allowance
    started = time.monotonic()
    with pytest.raises(WorkerCrashed, match="more CPU time than allowed"):
        run.call("call", name="spin")
    assert time.monotonic() - started < 15
    run.close()


def test_cpu_time_hidden_from_proc_still_counts_toward_the_limit(tmp_path: Path) -> None:
    """From an attack (by someone who never read these tests) on a rootless limit counted from
    /proc (this stop, reverted): a worker that made itself not dumpable (its PID-namespace link
    unreadable to the grader), or burned in children reaped by nobody (SIGCHLD ignored: their
    CPU time is folded into no one's), showed no CPU time at all, and 45 s of CPU passed a
    30 s limit. A limit is counted where nothing can hide from it (a cgroup as root, wall time
    rootless): 12 s of CPU in hidden children never passes a 4 s limit."""
    run = make_run(tmp_path, """
        import ctypes, os, signal, time
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped by the kernel, their time by no one
        def hidden():
            kids = []
            for _ in range(2):
                pid = os.fork()
                if pid == 0:
                    end = time.process_time() + 6.0
                    while time.process_time() < end:
                        pass
                    os._exit(0)
                kids.append(pid)
            for pid in kids:
                while True:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.05)
            return 1
    """, budget=4.0)
    with pytest.raises(WorkerTimeout):
        run.call("call", name="hidden")
    run.close()


def test_a_test_s_calls_that_sleep_are_bounded_in_wall_time_together(tmp_path: Path) -> None:
    """Limits count CPU time, so a call that sleeps is charged nothing and runs to its wall
    backstop; without a bound on the test as a whole, a test of many calls (a timing check's
    rounds, which hold the whole batch) could sleep for as long as the student liked, every
    other job of the batch waiting. Together a test's calls get the backstop of one: 3 times
    its limit, at least the limit and 30 s."""
    budget = 2.0
    run = make_run(tmp_path, """
        import time
        def nap():
            time.sleep(12)
            return 1
    """, budget=budget)
    allowance = max(3 * budget, budget + 30)
    started = time.monotonic()
    naps = 0
    with pytest.raises(WorkerTimeout) as stopped:
        for _ in range(4):  # 48 s of sleep
            run.call("call", name="nap")
            naps += 1
    took = time.monotonic() - started
    assert took < allowance + 5, f"the test's calls took {took:.1f} s, more than the {allowance:.0f} s a test may take"
    if naps:  # (where the worker's CPU time can be read, a sleeping call is not charged; else each nap is a timeout)
        assert "of wall time, computing or not" in str(stopped.value), str(stopped.value)
    run.close()


def test_a_worker_restarted_during_a_test_counts_its_import_toward_the_test_s_wall_time(tmp_path: Path) -> None:
    """An import that sleeps (not charged: CPU time), in a worker that crashes itself before
    the test's next call, made the test start a fresh worker each time, each import on top of
    the test's wall-time allowance: 265 s of a timing check holding the batch where 180 s are
    allowed (found by attack). A worker started during a test is the test's time."""
    budget = 2.0
    run = make_run(tmp_path, """
        import os, time
        time.sleep(12)
        def die():
            os._exit(1)
    """, budget=budget)
    allowance = max(3 * budget, budget + 30)
    started = time.monotonic()
    crashes = 0
    with pytest.raises(WorkerTimeout) as stopped:
        for _ in range(4):  # 48 s of imports
            with pytest.raises(WorkerCrashed):
                run.call("call", name="die")
            crashes += 1
    took = time.monotonic() - started
    assert took < allowance + 5, f"the test took {took:.1f} s, more than the {allowance:.0f} s a test may take"
    if not crashes:  # no CPU time to read (rootless, no cgroup): a sleeping import is charged its wall time
        assert "Importing sub.py did not finish within 5 s" in str(stopped.value), str(stopped.value)
        run.close()
        return
    assert "still importing" in str(stopped.value), str(stopped.value)
    with pytest.raises(WorkerTimeout, match="Not run"):  # the allowance is spent ...
        run.call("call", name="die")
    run.start_test(budget)  # ... for this test only: the next test imports again (the import itself did not fail)
    with pytest.raises(WorkerCrashed):
        run.call("call", name="die")
    run.close()


def test_workers_started_from_scratch_are_bounded_alike(tmp_path: Path) -> None:
    runner = LocalRunner(zygote=False)  # what `benchmarks/` calls the naive way
    run = make_run(tmp_path, """
        import os
        def bad():
            return 1 / 0
        def die():
            os._exit(3)
        def ok():
            return 7
    """, runner=runner)
    with pytest.raises(StudentError, match="ZeroDivisionError"):
        run.call("call", name="bad")
    with pytest.raises(WorkerCrashed, match="exited with status 3"):
        run.call("call", name="die")
    assert run.call("call", name="ok")["value"] == 7
    run.close()
    assert not runner._zygotes


def test_a_worker_that_kills_its_zygote_costs_nothing_else(tmp_path: Path) -> None:
    """Outside root a worker's parent is the zygote, which it can kill: the next worker then
    starts from a new zygote. As root the worker sits in a PID namespace of its own: its
    parent is that namespace's PID 1, which ignores its signals, and the zygote is not there."""
    runner = LocalRunner()
    root = ISOLATION != "none"  # (as root or rootless: the same namespaces)
    try:
        run = make_run(tmp_path, """
            import os, signal
            def parent():
                return os.getppid()
            def kill_parent():
                os.kill(os.getppid(), signal.SIGKILL)
                return os.getpid()
            def visible():
                return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        """, runner=runner)
        parent = run.call("call", name="parent")["value"]
        (zygote,) = runner._zygotes.values()  # started for the first worker
        assert parent == (1 if root else zygote.proc.pid)
        me = run.call("call", name="kill_parent")["value"]
        if root:
            assert run.call("call", name="visible")["value"] == [1, me]  # nothing but PID 1 and itself
            assert zygote.proc.poll() is None
        run.close()
        (tmp_path / "again").mkdir()
        again = make_run(tmp_path / "again", """
            def ok():
                return 1
        """, runner=runner)
        assert again.call("call", name="ok")["value"] == 1
        (now,) = runner._zygotes.values()
        assert (now is zygote) == root
        again.close()
    finally:
        runner.close()
    assert zygote.proc.poll() is not None  # closing the runner ends its zygote
    if root:  # it left by itself, on seeing the socket closed (not killed after a timeout)
        assert zygote.proc.returncode == 0


def test_closing_the_runner_ends_the_zygote_at_once(tmp_path: Path) -> None:
    """The zygote exits by itself (status 0) when the runner closes, with its listening thread
    still in recv() on the socket; before shutdown() it was SIGKILLed after waiting 5 s, at
    the end of every batch."""
    runner = LocalRunner()
    try:
        run = make_run(tmp_path, """
            def ok():
                return 1
        """, runner=runner)
        assert run.call("call", name="ok")["value"] == 1
        run.close()
        (zygote,) = runner._zygotes.values()
    finally:
        runner.close()
    assert zygote.proc.returncode == 0, f"the zygote ended with {zygote.proc.returncode} (negative: killed)"


def test_a_zygote_whose_grader_dies_during_its_imports_leaves_at_once(tmp_path: Path) -> None:
    """A batch killed while its zygotes still import torch (seconds; tens on a loaded machine)
    must not leave them behind until the imports end: the zygote watches its socket meanwhile.
    The imports are made to take 60 s here; the zygote must be gone within a few."""
    import socket
    import sys

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    script = ("import sys, time; import grader._worker.zygote as z; "
              "z._warm_up = lambda: time.sleep(60); sys.exit(z.zygote(int(sys.argv[1])))")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", script, str(theirs.fileno())], pass_fds=(theirs.fileno(),))
    theirs.close()
    try:
        time.sleep(1.0)  # well inside its imports
        assert proc.poll() is None
        ours.close()  # the grader is gone
        code = proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert code == 0


def test_drivers_get_a_tensor_list_check_that_says_what_came_instead() -> None:
    """``tensor_list``, which drivers import from grader.driver (backprop's and conv_backprop's use it)."""
    import re

    import grader.driver
    from grader._worker import WrongAnswer, tensor_list

    assert grader.driver.tensor_list is tensor_list
    good = [torch.zeros(2), torch.ones(3)]
    got = tensor_list(tuple(good), "dA_list", 2)
    assert type(got) is list and all(torch.equal(g, e) and g is not e for g, e in zip(got, good))  # copies: one read
    for value, message in [
        (torch.zeros(2), "dA_list should be a list of 2 tensors, got Tensor"),
        ([torch.zeros(2)], "dA_list should be a list of 2 tensors (one per layer), got 1"),
        ([torch.zeros(2), 3.0], "dA_list[1] should be a tensor, got float"),
    ]:
        with pytest.raises(WrongAnswer, match=re.escape(message)):
            tensor_list(value, "dA_list", 2)


def test_a_driver_bug_is_the_graders_error_not_the_students(tmp_path: Path) -> None:
    """Issue 15, item 11: a check that calls a driver function that does not exist, or with
    arguments it does not take, is the course's authoring error, reported as the grader's."""
    from grader._exceptions import DriverError, StudentFault

    run = make_run(tmp_path, """
        def f():
            return 1
    """)
    with pytest.raises(DriverError, match="has no function 'no_such_function'"):
        run.call("no_such_function")
    with pytest.raises(DriverError, match="cannot take the arguments"):
        run.call("returns", name="f", extra=3)  # returns(student, name, device) takes no `extra`
    assert run.call("call", name="f")["value"] == 1  # the worker lives on
    assert not issubclass(DriverError, StudentFault)
    run.close()


@pytest.mark.parametrize("what", ["a set", "an object", "a module", "a generator", "a tuple key", "a complex128 tensor",
                                  "not a dict"])
def test_a_driver_reply_that_cannot_be_sent_is_the_graders_error(tmp_path: Path, what: str) -> None:
    """Issue 15, item 11: what a driver function returns is its own (it reads the student's
    values with ``plain``, which refuses what cannot travel as the student's WrongAnswer),
    so a reply the encoder refuses is a driver bug naming the driver and the function, and
    never the student's error. (Before: WrongAnswer, "what your code returned holds a set".)"""
    from grader._exceptions import DriverError

    run = make_run(tmp_path, """
        def f():
            return 1
    """)
    with pytest.raises(DriverError) as exc:
        run.call("unsendable", name="f", what=what)
    message = str(exc.value)
    assert "sandbox/driver.py (for student/p)" in message, message
    assert "the driver's unsendable() returned something the grader cannot send back" in message, message
    assert run.call("call", name="f")["value"] == 1  # the worker lives on
    run.close()


def test_what_a_student_returns_that_cannot_be_sent_stays_the_students(tmp_path: Path) -> None:
    """The other half of the rule: the driver reads the student's value with ``plain``, which
    refuses (WrongAnswer: the student's) every tensor the encoder could not carry, so no
    student's value reaches the encoder unread; and tensors anywhere in a plain value travel."""
    from grader._exceptions import DriverError

    run = make_run(tmp_path, """
        import torch
        def complex():
            return {"z": torch.zeros(2, dtype=torch.complex128)}
        def meta():
            return {"m": [torch.empty(2, device="meta")]}
        def nested():
            return {"n": torch.nested.nested_tensor([torch.zeros(1), torch.zeros(2)])}
        def deep():
            return {"d": [[torch.ones(2)], 1, {"k": torch.zeros(1)}], "e": {"__tensor__": "0"}}
        class Impostor:  # poses as a numpy scalar: plain calls its item(), which is the student's code
            __module__ = "numpy"
            ndim = 0
            def item(self):
                raise RuntimeError("no")
        def impostor():
            return {"i": Impostor()}
        def a_set():
            return {1, 2}
        def raises_driver_bug():
            import sys
            raise sys.modules["_grader_worker"].DriverBug("not really")  # the worker package is in reach of its code
    """)
    for name, message in [("complex", "its dtype torch.complex128 cannot be sent back"),
                          ("meta", "it is on the meta device"), ("nested", "(nested), not a dense")]:
        with pytest.raises(WrongAnswer, match=re.escape(message)):
            run.call("returns", name=name)
    got = run.call("returns", name="deep")
    assert torch.equal(got["d"][0][0], torch.ones(2)) and got["d"][1] == 1 and torch.equal(got["d"][2]["k"], torch.zeros(1))
    assert got["e"] == {"__tensor__": "0"}  # a dict that looks like a marker arrives as the dict it is
    # The student's own code ran and raised while the reply was read: theirs, not the driver's.
    with pytest.raises(StudentError, match="RuntimeError: no"):
        run.call("passes_through", name="impostor")
    with pytest.raises(WrongAnswer, match="holds a set"):  # a driver that keeps the rule: the student's
        run.call("returns", name="a_set")
    with pytest.raises(DriverError, match=r"passes_through\(\) returned something the grader cannot send back"):
        run.call("passes_through", name="a_set")  # one that breaks it (hands the student's value back unread): its bug
    with pytest.raises(StudentError, match="DriverBug: not really"):
        run.call("call", name="raises_driver_bug")
    with pytest.raises(DriverError, match=r"the driver's not_timed\(\) should return a callable to time, and returned a int"):
        run.prepare("not_timed", name="complex")
    run.close()


@pytest.mark.skipif(ISOLATION != "rootless", reason="only rootless workers are signalled by their PID namespace")
def test_a_dead_workers_namespace_number_taken_by_a_new_worker_is_not_signalled_for_the_old_one(tmp_path: Path) -> None:
    # The kernel gives a freed namespace's number to the next one made (the lowest free; here
    # within 0.2 s). A kill by the old number, as the kill loop of a dying worker or a
    # neighbouring job's makes, must not reach the new worker: the number is pinned while it
    # may be used, and forgotten once its worker is gone.
    (tmp_path / "sub.py").write_text("def ok():\n    return 1\n")
    spec = WorkerSpec(label="student/p", files={"sub.py": tmp_path / "sub.py"}, module="sub", driver=DRIVER, limits=Limits(threads=1))
    old = SHARED.start(spec)
    number = old.pidns  # type: ignore[attr-defined]
    assert number is not None
    old.kill()  # type: ignore[attr-defined]
    time.sleep(0.5)
    new = SHARED.start(spec)
    try:
        assert new._every(0) >= 1  # type: ignore[attr-defined]  # signal 0: counts the new worker's processes
        assert old._every(signal.SIGKILL) == 0  # type: ignore[attr-defined]
        time.sleep(0.2)
        assert new._every(0) >= 1, "the dead worker's kill reached a new worker"  # type: ignore[attr-defined]
        print(f"old namespace {number}, new {new.pidns} ({'the same number' if new.pidns == number else 'another number'})")  # type: ignore[attr-defined]
    finally:
        new.close()



def _take_pid(pid: int) -> subprocess.Popen[bytes] | None:
    """A new session leader (``sleep``) given the number ``pid``, handed out again on purpose
    (ns_last_pid: root only); None where it cannot be, or another process took it first."""
    for _ in range(50):
        try:
            Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        except OSError:
            return None
        p = subprocess.Popen(["sleep", "60"], start_new_session=True)
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
    return None


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/proc/sys/kernel/ns_last_pid").exists(),
                    reason="handing a chosen pid out again (ns_last_pid) needs root")
def test_a_closed_workers_pid_handed_to_another_session_is_not_signalled(tmp_path: Path) -> None:
    # A worker's outer process leads its session, signalled by its process group. Once it has
    # exited and its zygote has reaped it, its number can go to the next process made, which
    # may lead a session of its own: another worker (of another grader run of this user too,
    # rootless: the same uid), anyone's as root. Here that happens at the worst moment, right
    # after the worker's exit was seen, before it is closed for good; its kill reached the
    # newcomer's session (pid_max is 32768 on some machines: forking students wrap it in seconds).
    (tmp_path / "sub.py").write_text("def ok():\n    return 1\n")
    spec = WorkerSpec(label="student/p", files={"sub.py": tmp_path / "sub.py"}, module="sub", driver=DRIVER, limits=Limits(threads=1))
    worker = SHARED.start(spec)
    pid, taken = worker.proc.pid, []  # type: ignore[attr-defined]
    wait = worker.proc.wait  # type: ignore[attr-defined]

    def wait_then_hand_out(timeout: float | None = None) -> int:
        code = wait(timeout)  # reaped by now (the zygote reports an exit once it has reaped it)
        if not taken and (newcomer := _take_pid(pid)) is not None:
            taken.append(newcomer)
        return code

    worker.proc.wait = wait_then_hand_out  # type: ignore[attr-defined]
    worker.close()
    if not taken:
        pytest.skip(f"pid {pid} could not be handed out again (another process took it each time)")
    try:
        time.sleep(0.2)
        assert taken[0].poll() is None, f"closing the worker killed the session that took its pid {pid}: {taken[0].returncode}"
    finally:
        taken[0].kill()
        taken[0].wait()


MOUNTS = """
    def mounts():
        out = []
        for line in open("/proc/self/mountinfo"):
            fields = line.split()
            out.append([fields[4], fields[fields.index("-") + 1], fields[5].split(",")[0]])
        return out

    def cgroup_escape():
        import os
        said = []
        for root, dirs, files in os.walk("/sys/fs"):
            for name in files:
                if name in ("cgroup.procs", "cgroup.freeze", "cgroup.kill"):
                    try:
                        with open(os.path.join(root, name), "w") as f:
                            f.write("0")
                        said.append("wrote " + os.path.join(root, name))
                    except OSError as exc:
                        pass
        return said
"""


@ISOLATED
def test_nothing_outside_the_worker_s_own_scratch_is_writable(tmp_path: Path) -> None:
    """Every mount a worker sees is read-only but its own tmpfs folders, its /proc and its
    device nodes: a read-only bind is read-only below too (a remount changes one mount, and
    /sys/fs/cgroup left writable under /sys was how a rootless worker left its cgroup for
    the batch's, and could freeze or kill its neighbours'); no cgroup file is written."""
    run = make_run(tmp_path, MOUNTS)
    seen = run.function("mounts")()
    writable = [(point, kind) for point, kind, mode in seen if mode == "rw"]
    others = [(point, kind) for point, kind in writable if kind not in ("tmpfs", "proc", "devtmpfs")]
    assert others == [], f"writable mounts in the worker: {others}"
    assert all(point.startswith("/dev/") for point, kind in writable if kind == "devtmpfs"), writable
    assert run.function("cgroup_escape")() == []
