"""What the trusted side relies on at the boundary (issue 13): one read of a returned value,
timed answers that come back to be checked, a request loop bound before student code, a
witness the student's process cannot take back, reported values validated, deadlines on
every write, and a freeze that stops every process and thread of a worker.

Each test states the attack it stands for; the attacks beat the grader before these
mechanisms (see the closing note of issue 13 for the runs that showed it).
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from pathlib import Path

import pytest
import torch

from grader._exceptions import WorkerTimeout
from grader._sandbox.channel import _reported_seconds
from workers import ISOLATED, ROOT_ONLY, make_run


def test_a_returned_list_subclass_is_read_once_through_lists_own_methods(tmp_path: Path) -> None:
    # The aliasing check and the encoder used to iterate the returned list separately: a
    # subclass could show fresh tensors to one and the caller's own tensor to the other.
    run = make_run(tmp_path, """
        import torch
        THETA = torch.zeros(3)
        class Shifty(list):
            calls = 0
            def __iter__(self):
                Shifty.calls += 1
                return iter([torch.ones(3) * Shifty.calls for _ in range(2)])
            def __len__(self):
                return 7
            def __getitem__(self, i):
                return torch.full((3,), -1.0)
        def shifty():
            return Shifty([THETA, THETA])
    """)
    got = run.call("views", name="shifty")
    assert [t.tolist() for t in got["value"]] == [[0.0, 0.0, 0.0]] * 2  # what the list really holds
    assert got["distinct"] == 1  # and the storages seen were those very tensors: both entries are THETA
    run.close()


def test_a_dict_subclass_and_number_subclasses_arrive_as_what_they_hold(tmp_path: Path) -> None:
    run = make_run(tmp_path, """
        class Two(dict):
            def items(self):
                return [("a", 99)]
            def __iter__(self):
                return iter(["zzz"])
        class Int(int):
            def __int__(self):
                return 12345
            def __repr__(self):
                return "12345"
        def mapping():
            return Two(a=Int(1), b=2.5)
    """)
    got = run.call("views", name="mapping")["value"]
    assert got == {"a": 1, "b": 2.5} and type(got["a"]) is int
    run.close()


def test_timed_calls_get_one_call_per_input_and_every_answer_comes_back(tmp_path: Path) -> None:
    # Before, a timed request ran the callable on the same input and returned nothing: a
    # submission could hand the timer something fast and wrong, or remember its last answer.
    run = make_run(tmp_path, """
        def double(x):
            return x * 2
    """)
    run.prepare("timed", name="double")
    xs = [torch.randn(4, generator=torch.Generator().manual_seed(k)) for k in range(3)]
    seconds, outs = run.run("timed", xs)
    assert seconds > 0 and len(outs) == 3
    for x, out in zip(xs, outs):
        assert type(out) is torch.Tensor and torch.equal(out, x * 2)
    run.close()


def test_replacing_the_workers_own_functions_changes_no_reply(tmp_path: Path) -> None:
    # The request loop looked its framing and encoding up in the worker script's globals at
    # every request: a module could make a timed request answer at once, running nothing.
    run = make_run(tmp_path, """
        import __main__, json, os, time
        def _instant(fd, header, payload=b""):
            raise SystemExit("forged")
        for name in ("write_frame", "read_frame", "encode", "decode", "plain", "write_all", "frame"):
            if hasattr(__main__, name):
                setattr(__main__, name, _instant)
        json.dumps = lambda *a, **k: "{}"
        time.perf_counter = lambda: float("nan")
        def double(x):
            return x * 2
    """)
    run.prepare("timed", name="double")
    seconds, outs = run.run("timed", [torch.ones(2)])
    assert torch.equal(outs[0], torch.full((2,), 2.0))
    reply = run.call("call", name="double", x=3)
    assert reply["value"] == 6 and math.isfinite(reply["__elapsed__"]) and reply["__elapsed__"] >= 0
    run.close()


def test_the_autograd_witness_reaches_the_trusted_side_even_when_the_process_wipes_it(tmp_path: Path) -> None:
    # The watch's record lived in the student's process, where it could be emptied after use.
    run = make_run(tmp_path, """
        import gc, torch
        def sneaky():
            x = torch.ones(3, requires_grad=True)
            with torch.enable_grad():  # the watch runs the call with grad mode off
                (g,) = torch.autograd.grad((x * x).sum(), [x])
            for obj in gc.get_objects():  # wipe every record a watch could keep here
                try:
                    for attr in ("used", "_seen"):
                        if isinstance(getattr(obj, attr, None), (list, set)):
                            getattr(obj, attr).clear()
                    if type(obj).__name__ in ("AutogradWatch", "_Witness"):
                        obj._sent = 0
                        obj._armed = False
                except Exception:
                    pass
            return g.tolist()
        def honest():
            return [1.0, 2.0]
    """)
    got = run.call("watched", name="sneaky")
    assert got["value"] == [2.0, 2.0, 2.0]
    assert got["__witness__"] and any("autograd" in w or "grad" in w for w in got["__witness__"]), got["__witness__"]
    assert run.call("watched", name="honest")["__witness__"] == []
    run.close()


def test_durations_the_worker_reports_are_validated() -> None:
    assert _reported_seconds(float("nan"), 2.0) == 2.0
    assert _reported_seconds(float("inf"), 2.0) == 2.0
    assert _reported_seconds(-1.0, 2.0) == 2.0
    assert _reported_seconds(10.0, 2.0) == 2.0
    assert _reported_seconds("soon", 2.0) == 2.0
    assert _reported_seconds(0.5, 2.0) == 0.5


STALL = """
    import os, time
    def _reply_fd():
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd in (0, 1, 2):
                continue
            try:
                link = os.readlink(f"/proc/self/fd/{fd}")
                flags = int(open(f"/proc/self/fdinfo/{fd}").read().split("flags:")[1].split()[0], 8)
            except OSError:
                continue
            if link.startswith("pipe:") and flags & 3 == 1:
                return fd
    def stall():
        # Answer this call with a forged reply (NaN duration), then stop reading requests for good.
        import json, struct
        head = json.dumps({"ok": True, "values": {"value": 1}, "info": {"elapsed": float("nan")}}).encode()
        os.write(_reply_fd(), struct.pack(">Q", len(head)) + head + struct.pack(">Q", 0))
        time.sleep(3600)
"""


def test_a_worker_that_stops_reading_cannot_block_the_grader(tmp_path: Path) -> None:
    # The grader's write of a request had no deadline: a worker that stopped reading hung the batch.
    run = make_run(tmp_path, STALL, budget=6.0)
    reply = run.call("call", name="stall")  # the forged reply is taken (it claims only itself)...
    assert reply["value"] == 1 and math.isfinite(reply["__elapsed__"])  # ...with its NaN duration made safe
    started = time.monotonic()
    with pytest.raises(WorkerTimeout):
        run.call("call", name="stall", x=torch.zeros(1 << 20))  # 4 MB: far more than a pipe holds
    assert time.monotonic() - started < 30
    run.close()


def _cpu_ticks(worker: object) -> int:
    """User + system clock ticks of every process (all its threads) of the worker: of its uid
    as root, of its PID namespace rootless (where the grader has the same uid)."""
    uid, ns = worker.uid, worker.pidns
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            tasks = os.listdir(f"{entry.path}/task")  # per thread: a zombie leader's stat counts only itself
            if uid is not None and os.stat(entry.path).st_uid != uid:
                continue
            if uid is None and not any(_task_ns(entry.path, t) == ns for t in tasks):
                continue
        except OSError:
            continue
        for tid in tasks:
            try:
                fields = Path(entry.path, "task", tid, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total


def _task_ns(proc: str, tid: str) -> str | None:
    try:
        return os.readlink(f"{proc}/task/{tid}/ns/pid")
    except OSError:
        return None


BURNER = """
    import ctypes, os, threading, time
    def burn():
        while True:
            pass
    def start():
        # A child whose main thread exits (pthread_exit: its status then says zombie) while two
        # threads burn the CPU, and a grandchild in a session of its own that burns too.
        if os.fork() == 0:
            for _ in range(2):
                threading.Thread(target=burn, daemon=True).start()
            if os.fork() == 0:
                os.setsid()
                burn()
            time.sleep(0.3)
            ctypes.CDLL(None).pthread_exit(None)
        time.sleep(1.0)
        return os.getpid()
"""


@ISOLATED
@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroup-freezer", "signals"])
def test_a_frozen_worker_burns_no_cpu_whatever_its_processes_look_like(tmp_path: Path, cgroups: bool,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The freeze read each process's state and skipped "zombies": a thread group whose leader
    # had exited kept burning the CPU while the baseline was timed.
    from grader._sandbox.local import LocalRunner

    if not cgroups:
        monkeypatch.setenv("GRADER_NO_CGROUP", "1")
    runner = LocalRunner()
    run = make_run(tmp_path, BURNER, runner=runner)
    try:
        run.call("call", name="start")
        worker = run._worker
        assert worker is not None and (worker.uid is not None or worker.pidns is not None)  # type: ignore[attr-defined]
        if cgroups and worker.cgroup is None:
            pytest.skip("no cgroup v2 folder can be made here")
        assert cgroups or worker.cgroup is None
        time.sleep(0.5)
        busy = _cpu_ticks(worker)
        time.sleep(0.5)
        assert _cpu_ticks(worker) - busy > 5, "the burners should be burning before the freeze"
        run.freeze()
        time.sleep(0.2)
        frozen = _cpu_ticks(worker)
        time.sleep(1.0)
        burnt = _cpu_ticks(worker) - frozen
        run.thaw()
        assert burnt <= 2, f"{burnt} clock ticks burnt in 1 s while frozen"
    finally:
        run.close()
        root = runner.cgroups.root if runner.cgroups is not None else None
        runner.close()
    assert root is None or not root.exists(), "the runner's cgroups outlived it"


def test_a_job_folder_that_was_empty_when_another_job_timed_is_not_left_frozen() -> None:
    """A timing check freezes the other jobs' cgroup folders; an empty one (a job whose
    student's import had just failed, or that had not started a worker yet) reported "not
    frozen" and was never thawed, so every worker that job started afterwards stayed stopped:
    each of its next student's tests 'the grader itself failed' after a 120 s start, and the
    batch took 14 minutes instead of 34 s (found by attack)."""
    from grader._sandbox.cgroup import Cgroups

    batch = Cgroups.find()
    if batch is None:
        pytest.skip("no cgroup v2 folder can be made here (root, or a delegated cgroup)")
    job = Cgroups.find(batch, "job-empty")
    try:
        assert job is not None
        folder = Cgroups.find(batch, "job-timing")  # the job whose timing check freezes the others
        assert folder is not None
        (sibling,) = [c for c in folder.siblings() if c.path.name == "job-empty"]
        assert sibling.freeze() is False  # nothing in it to stop
        assert (job.root / "cgroup.freeze").read_text().strip() == "0", "the empty job's folder was left frozen"
        worker = job.make("w-late")  # what that job starts next runs
        assert worker is not None
        child = subprocess.Popen(["sleep", "30"])
        try:
            (worker.path / "cgroup.procs").write_text(str(child.pid))
            stat = Path(f"/proc/{child.pid}/stat")
            time.sleep(0.2)
            assert worker._events().get("frozen") == "0", "a worker started later in that job is frozen"
            assert stat.read_text().split()[2] in "SR", stat.read_text()
        finally:
            child.kill()
            child.wait()
        folder.close()
    finally:
        if job is not None:
            job.close()
        batch.close()


HOPPER = """
    import ctypes, mmap, os, struct, sys, tempfile, textwrap, time
    CHAINS, SLOTS = 8, 4096
    PATH = os.path.join(tempfile.gettempdir(), "stamps")
    # "hop": a small interpreter (no torch: a fork costs little) makes itself a subreaper
    # ignoring SIGCHLD (what exits below it is reaped at once, even while it is stopped) and
    # starts CHAINS chains: each burns 0.1 ms, writes the time into its ring of SLOTS stamps,
    # forks, and its parent exits (a new pid thousands of times a second).
    CHAIN = '''
    import ctypes, mmap, os, signal, struct, sys, time
    libc = ctypes.CDLL(None)
    path, chains, slots = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    libc.prctl(36, 1, 0, 0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    with open(path, "r+b") as f:
        ring = mmap.mmap(f.fileno(), 8 * chains * slots)
    stop = time.monotonic() + 120
    def chain(c):
        os.setsid()
        i = 0
        while time.monotonic() < stop:
            end = time.monotonic() + 0.0001
            while time.monotonic() < end:
                pass
            struct.pack_into("d", ring, 8 * (c * slots + i % slots), time.monotonic())
            i += 1
            try:
                child = os.fork()
            except OSError:
                continue
            if child:
                os._exit(0)
        os._exit(0)
    for c in range(chains):
        if os.fork() == 0:
            chain(c)
    while time.monotonic() < stop:
        time.sleep(1)
    '''
    def start(kind):
        with open(PATH, "wb") as f:
            f.write(bytes(8 * CHAINS * SLOTS))
        if os.fork() == 0:
            os.setsid()
            os.closerange(3, 1 << 16)
            if kind == "hop":
                os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", textwrap.dedent(CHAIN), PATH, str(CHAINS), str(SLOTS)])
            # "hidden": not dumpable, its memory made outside the worker's user namespace
            # (forked, not run anew): its /proc/PID/ns/pid is unreadable to its own uid.
            ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
            with open(PATH, "r+b") as f:
                ring = mmap.mmap(f.fileno(), 8 * SLOTS)
            for i in range(1 << 30):
                end = time.monotonic() + 0.0001
                while time.monotonic() < end:
                    pass
                struct.pack_into("d", ring, 8 * (i % SLOTS), time.monotonic())
        time.sleep(0.5)
        return 0
    def stamps(lo, hi):
        with open(PATH, "rb") as f:
            data = f.read()
        times = struct.unpack(f"{len(data) // 8}d", data)
        return [sum(lo < t < hi for t in times), sum(t >= hi for t in times)]
"""


def _descendants(pid: int) -> dict[int, list[str]]:
    """Every process below ``pid`` (by each process's parent, read from /proc, whatever its
    namespace link says): the state of each of its threads."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    below: dict[int, list[str]] = {}
    for p in parents:
        q, seen = p, 0
        while q in parents and q != pid and seen < 1000:
            q, seen = parents[q], seen + 1
        if q == pid and p != pid:
            try:
                below[p] = [Path(f"/proc/{p}/task/{t}/stat").read_text().rsplit(")", 1)[1].split()[0]
                            for t in os.listdir(f"/proc/{p}/task")]
            except OSError:
                continue
    return below


@ISOLATED
@pytest.mark.parametrize("kind", ["hop", "hidden"], ids=["pids-changing", "namespace-hidden"])
@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroup-freezer", "signals"])
def test_a_freeze_is_complete_while_processes_keep_changing_pid(tmp_path: Path, cgroups: bool, kind: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # A single sweep of SIGSTOP over the pids read a moment before missed chains of processes
    # that fork and exit in a loop (a baseline timed next to such a "frozen" student went from
    # 51-65 ms to 87.5 ms); rootless, it never saw a process whose namespace link was hidden.
    from grader._sandbox.local import LocalRunner

    if not cgroups:
        monkeypatch.setenv("GRADER_NO_CGROUP", "1")
    runner = LocalRunner()
    run = make_run(tmp_path, HOPPER, runner=runner)
    try:
        run.call("call", name="start", kind=kind)
        worker = run._worker
        assert worker is not None
        if cgroups and worker.cgroup is None:  # type: ignore[attr-defined]
            pytest.skip("no cgroup v2 folder can be made here")
        time.sleep(0.5)
        now = time.monotonic()
        assert run.call("call", name="stamps", lo=now - 0.5, hi=now)["value"][0] > 50, "the burners should be running"
        for _ in range(5):
            run.freeze()
            frozen = time.monotonic()
            running = {}
            for _ in range(5):
                time.sleep(0.2)
                if cgroups:  # the kernel's word for its whole cgroup (its tasks show as sleeping, not T)
                    if worker.cgroup._events().get("frozen") != "1":  # type: ignore[attr-defined]
                        running[0] = ["the cgroup is not frozen"]
                    continue
                below = _descendants(worker.proc.pid)  # type: ignore[attr-defined]
                running.update({p: s for p, s in below.items() if not set(s) <= set("TtZX")})
            thawed = time.monotonic()
            run.thaw()
            time.sleep(0.3)
            during, after = run.call("call", name="stamps", lo=frozen, hi=thawed)["value"]
            assert not running, f"processes of the frozen worker still running: {running}"
            assert during == 0, f"the burners ran {during} times in {thawed - frozen:.1f} s while frozen"
            assert after > 0, "the burners should run again once thawed"
    finally:
        run.close()
        runner.close()


@ISOLATED
def test_a_timing_check_gives_no_verdict_where_the_freeze_cannot_be_shown_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where the freeze by signals cannot show every process of the other side stopped (here:
    # /proc never gives a complete listing), a timing check must not judge on a baseline
    # the student's processes may have slowed: it says so, and what the instructor can do.
    from grader._sandbox import freeze as _freeze
    from grader._exceptions import FreezeError, GraderError
    from grader._sandbox.local import LocalRunner
    from grader.checks import speed_ratio

    monkeypatch.setenv("GRADER_NO_CGROUP", "1")
    monkeypatch.setattr(_freeze, "FREEZE_TIMEOUT", 0.5)
    monkeypatch.setattr(_freeze, "listing", lambda owner, pid_max: None)
    runner = LocalRunner()
    source = "def f(x):\n    return x\n"
    (tmp_path / "c").mkdir()
    (tmp_path / "b").mkdir()
    candidate, baseline = make_run(tmp_path / "c", source, runner=runner), make_run(tmp_path / "b", source, runner=runner)
    try:
        with pytest.raises(FreezeError) as said:
            speed_ratio(candidate, baseline, "timed", values={"name": "f"}, inputs=lambda: torch.zeros(3),
                        check=lambda out, x: None, rounds=2)
        assert isinstance(said.value, GraderError)  # the grader's trouble, never a verdict on the student
        message = str(said.value)
        assert "No verdict on speed" in message and "could not be shown frozen" in message
        assert "as root" in message and "Delegate=yes" in message and "--runner docker" in message
        for run in (candidate, baseline):  # neither is left stopped
            assert run.call("call", name="f", x=1)["value"] == 1
    finally:
        candidate.close()
        baseline.close()
        runner.close()


SIGCONT_BURNER = """
import ctypes, os, signal, time

class _Spec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]

class _Timer(ctypes.Structure):
    _fields_ = [("interval", _Spec), ("value", _Spec)]

class _Event(ctypes.Structure):
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int), ("notify", ctypes.c_int), ("pad", ctypes.c_int * 12)]

def _burn(watched):
    os.setsid()
    signal.signal(signal.SIGCONT, lambda *_: None)  # handled: the kernel delivers the timer's SIGCONT
    libc, event, tid = ctypes.CDLL(None), _Event(), ctypes.c_void_p()
    event.signo, event.notify = signal.SIGCONT, 0
    libc.timer_create(1, ctypes.byref(event), ctypes.byref(tid))
    while True:
        spec = _Timer()
        spec.interval.nsec = spec.value.nsec = 20_000_000  # SIGCONT every 20 ms, rearmed every loop
        libc.timer_settime(tid, 0, ctypes.byref(spec), None)
        try:
            with open(f"/proc/{watched}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            os._exit(0)
        t0 = time.monotonic()
        while state == "T" and time.monotonic() - t0 < 0.002:  # burn only while the worker is frozen
            pass
        time.sleep(0.002)

_watched = os.getpid()
for _ in range(4):
    if os.fork() == 0:
        try:
            _burn(_watched)
        finally:
            os._exit(0)

def f(x):
    return x
"""


@ISOLATED
def test_a_student_whose_processes_run_under_the_freeze_fails_the_timing_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by a tester (issue 27): the kernel's POSIX timers send SIGCONT to stopped
    # processes, so a freeze by signals shown complete when it was made did not hold while
    # the baseline was timed (16 burners took it from 71 to 678 ms). A freeze is checked
    # again before it ends: the student's side ran, so its check fails, saying why.
    from grader._sandbox.local import LocalRunner
    from grader.checks import CheckFailed, speed_ratio

    monkeypatch.setenv("GRADER_NO_CGROUP", "1")
    runner = LocalRunner()
    (tmp_path / "c").mkdir()
    (tmp_path / "b").mkdir()
    candidate = make_run(tmp_path / "c", SIGCONT_BURNER, runner=runner)
    # The baseline takes 60 ms a call: each of its timed calls spans several of the timers' periods.
    baseline = make_run(tmp_path / "b", "import time\ndef f(x):\n    time.sleep(0.06)\n    return x\n", runner=runner)
    (tmp_path / "h").mkdir()
    honest = make_run(tmp_path / "h", "def f(x):\n    return x\n", runner=runner)
    slow = lambda: torch.zeros(3)  # noqa: E731
    try:
        with pytest.raises(CheckFailed, match="kept running while the grader had stopped it") as said:
            speed_ratio(candidate, baseline, "timed", values={"name": "f"}, inputs=slow, check=lambda out, x: None, rounds=3)
        assert "ran while it was stopped" in str(said.value) or "still running" in str(said.value), said.value
        # the same check of an honest student beside the same baseline gives a verdict
        timing = speed_ratio(honest, baseline, "timed", values={"name": "f"}, inputs=slow, check=lambda out, x: None, rounds=3)
        assert timing.ratio > 0
    finally:
        for run in (candidate, baseline, honest):
            run.close()
        runner.close()


def test_unsandboxed_workers_are_not_judged_on_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a PID namespace or a uid of its own, nothing tells which processes are a
    # worker's (a double fork leaves its session and its tree): no freeze by signals can be
    # shown complete, so a timing check refuses rather than judge.
    import grader._sandbox.local as sandbox
    from grader._exceptions import FreezeError

    monkeypatch.setattr(sandbox, "local_isolation", lambda: ("none", "user namespace (Operation not permitted)"))
    monkeypatch.setenv("GRADER_NO_CGROUP", "1")
    runner = sandbox.LocalRunner(unsandboxed=True)
    run = make_run(tmp_path, "def f(x):\n    return x\n", runner=runner)
    try:
        run.call("call", name="f", x=1)
        with pytest.raises(FreezeError, match="--unsandboxed") as said:
            run.freeze()
        assert "Delegate=yes" in str(said.value)
        assert run.call("call", name="f", x=2)["value"] == 2  # not left stopped
    finally:
        run.close()
        runner.close()


@ISOLATED
@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroup-freezer", "signals"])
def test_a_timing_check_has_the_batch_to_itself(tmp_path: Path, cgroups: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # With two jobs, a student in one job kept burning the CPU while the other job timed an
    # honest student against its baseline (measured: an honest ratio of 0.3 became 1.46);
    # without cgroups (rootless) no job froze another's workers at all.
    from grader._sandbox.local import LocalRunner

    if not cgroups:
        monkeypatch.setenv("GRADER_NO_CGROUP", "1")
    batch = LocalRunner()
    if cgroups and batch.cgroups is None:
        batch.close()
        pytest.skip("no cgroup v2 folder can be made here")
    mine, theirs = batch.fresh(0, 2), batch.fresh(1, 2)
    burner = make_run(tmp_path, HOPPER, runner=theirs)
    try:
        burner.call("call", name="start", kind="hop")
        with mine.alone():
            started = time.monotonic()
            time.sleep(1.0)
            ended = time.monotonic()
        time.sleep(0.5)
        during, after = burner.call("call", name="stamps", lo=started, hi=ended)["value"]
        assert after > 0, "the other job's burners should burn again afterwards"
        assert during == 0, f"another job's processes ran {during} times in 1 s while a timing check ran"
    finally:
        burner.close()
        for r in (mine, theirs, batch):
            r.close()


SHARED_MEMORY = """
    import ctypes, mmap
    def shared_map():
        m = mmap.mmap(-1, 1536 << 20, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        for i in range(0, len(m), 4096):
            m[i] = 1
        return len(m)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    def sysv(key, mb):
        shmid = libc.shmget(key, mb << 20, 0o1666)  # IPC_CREAT | rw for all
        if shmid < 0:
            return -1
        at = libc.shmat(shmid, None, 0)
        ctypes.memset(at, 1, mb << 20)
        return shmid
    def sysv_find(key):
        return libc.shmget(key, 0, 0o666)
    def ok():
        return 1
"""


@ROOT_ONLY
def test_shared_memory_counts_against_the_limit_and_outlives_no_worker(tmp_path: Path) -> None:
    # RLIMIT_DATA counts no shared mapping: a worker held 1.5 GiB past a 1 GiB limit. SysV
    # segments had no IPC namespace: they outlived the worker and a later student's could read them.
    from grader._exceptions import WorkerCrashed
    from grader._sandbox.local import LocalRunner

    runner = LocalRunner()
    try:
        if runner.cgroups is None:
            pytest.skip("no cgroup can be made here")
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = make_run(tmp_path / "a", SHARED_MEMORY, runner=runner, memory_mb=1024, submission="ann")
        worker_cg = None
        try:
            first.call("call", name="ok")
            worker_cg = first._worker.cgroup  # type: ignore[union-attr]
            if worker_cg is None or not worker_cg.limit_memory(1024 + 256):
                pytest.skip("no memory cgroup here")
            with pytest.raises(WorkerCrashed, match="memory"):
                first.call("call", name="shared_map")
            assert first.call("call", name="sysv", key=2971, mb=8)["value"] >= 0
        finally:
            first.close()
        second = make_run(tmp_path / "b", SHARED_MEMORY, runner=runner, submission="ben")
        try:
            assert second.call("call", name="sysv_find", key=2971)["value"] == -1, "another worker's SysV segment is visible"
        finally:
            second.close()
        segments = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
        assert not [line for line in segments if line.split()[0] == "2971"], "a SysV segment outlived its worker"
    finally:
        runner.close()
