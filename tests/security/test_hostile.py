"""Hostile and broken submissions, graded in one batch beside honest ones (issue 3, point 5).

Every case of tests/security/hostile/cases.toml is one student of a single mfdnn-hw5 class, with
three honest students (copies of the reference) sorted between them (the Docker and Slurm
classes: the cases that attack the runner, ``cases_for``). The class is graded
once per runner, through the CLI, with a secret planted in the grader's environment and a decoy
result file beside the output folder. Then:

- each hostile student scores exactly what its honest part deserves (per problem), with
  the outcomes and the messages its case names;
- every honest neighbour keeps full marks, and no submission file changed;
- every result.json is the grader's own: it parses, lists exactly the rubric's tests,
  its scores add up, and it is small; the output folder holds nothing else;
- the secret appears in no output; nothing was written outside tmp_path; no process of
  this batch is left running: nothing that still descends from the grader run (it runs
  under a child subreaper, tests/reaper.py, which adopts every orphan of it: a daemon that
  left its session, a worker's PID namespace), none with a hostile case's marker on its
  command line, and as root none of a worker uid (>= 2**20) whose processes name this
  batch's folders. Other grader runs on the machine, of this user too (rootless, every
  worker shares the user's uid), have processes of their own, which are not this batch's
  to judge, nor to kill.

Workers are isolated in namespaces of their own, as root (with a uid of their own) or
rootless (a user namespace of their own, the user's uid shared with the grader); several
cases are only safe to run that way, so the module needs one of the two (CI runs it both
as root and as an ordinary user, with the same expectations).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ROOT, docker_runner_or_skip, processes, run_cli_reaped, slurm_or_skip
from grader._course.layout import Course
from grader._course.models import Result
from grader._sandbox.isolation import local_isolation

# Workers are isolated as root (a uid of their own) and rootless (a user namespace of their
# own, the user's uid shared); CI runs this module both ways, with the same expectations.
ISOLATION, WHY_NOT = local_isolation()
pytestmark = [
    pytest.mark.skipif(ISOLATION == "none", reason=f"the hostile batch needs isolated workers: {WHY_NOT}"),
]

HOSTILE = Path(__file__).parent / "hostile"
CASES: list[dict] = tomllib.loads((HOSTILE / "cases.toml").read_text())["case"]
ASSIGNMENT = "mfdnn-hw5"
REFERENCE = ROOT / "reference" / ASSIGNMENT
HONEST = ["honest_a", "m_honest", "zz_honest"]  # sort between the hostile ones
# The cases attack backprop.py and momentum.py; the batch grades those two problems (the
# assignment's other problems add time, not attacks).
PROBLEMS = ("backprop", "momentum")
SEED = 29705
MARK = "hostile-marker-297"  # on every file a hostile case tries to plant, and on its daemons' command lines
PROCESS_MARKERS = (MARK, "sleep 297.")
WORKER_UID_BASE = 1 << 20  # workers get a uid of their own at or above this (grader/_sandbox/isolation.py)
MAX_RESULT_BYTES = 1 << 20
# Where hostile cases try to plant files; none may be there after the batch.
PLANT_DIRS = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/root"), Path("/home"), Path("/work/main"), ROOT,
              Path.home(), Path(pwd.getpwuid(os.getuid()).pw_dir), *(Path(p) for p in sys.path if p and os.path.isabs(p))]
RUN_LOCK = Path("/run/lock")


def xdist_group(item: pytest.Function) -> str:
    """Under pytest-xdist, the tests of one runner's batch in one process (it is graded once)."""
    kind = getattr(item, "callspec", None) and item.callspec.params.get("batch")
    return f"hostile-{kind or 'static'}"


def case_params(marks_key: str | None = None, only: str | None = None) -> list:
    out = []
    for case in CASES:
        if only and not any(k in case for k in only.split()):
            continue
        marks = []
        if marks_key and case.get(marks_key):
            marks.append(pytest.mark.xfail(strict=True, reason=case[marks_key]))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


def cases_for(kind: str) -> list[dict]:
    """The cases of ``kind``'s class: every case for the local runner (as root and rootless);
    for the others (Docker, Slurm), the cases that attack what the runner provides (its
    containment, its channel, its processes, files, output and network), not those marked
    ``surface = "checks"``: decided before any runner starts (an archive, a link, a file
    refused at intake) or by the grader's own code in and out of the worker, the same code
    whatever runs it (by-hand and autograd detection, values that fake tensors, patched
    comparisons). CI time (issue 28): the Docker class took 554 s of 4,100 with all 65."""
    return [c for c in CASES if kind == "local" or c.get("surface", "runner") != "checks"]


def in_class(batch: "Batch", case: dict) -> None:
    if case not in cases_for(batch.kind):
        pytest.skip('a case of surface = "checks" (decided by the grader\'s own code, whatever the runner): '
                    "graded in the local runner's class, as root and rootless")


# ------------------------------------------------------------------ building the class --


def build_case(case: dict, folder: Path) -> None:
    cid, build, files = case["id"], case.get("build"), case["files"]
    if build is None:
        d = folder / cid
        d.mkdir()
        for name in files:
            shutil.copyfile(HOSTILE / cid / name, d / name)
        extras = HOSTILE / cid / "extras"
        if extras.is_dir():
            for p in extras.iterdir():
                shutil.copyfile(p, d / p.name.removesuffix(".txt"))
    elif build.startswith("zip_"):
        with zipfile.ZipFile(folder / f"{cid}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for name in files:
                if build == "zip_symlink" and name == "backprop.py":
                    info = zipfile.ZipInfo(f"{cid}/{name}")
                    info.create_system = 3  # unix, so the mode below means a link
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    zf.writestr(info, str(REFERENCE / name))
                else:
                    zf.write(REFERENCE / name, f"{cid}/{name}")
            if build == "zip_slip":
                zf.writestr(zipfile.ZipInfo(f"../../pwned-{MARK}-zipslip.py"), "print('slipped')\n")
            elif build == "zip_absolute":
                zf.writestr(zipfile.ZipInfo(f"/tmp/pwned-{MARK}-zipabs.py"), "print('absolute')\n")
            elif build == "zip_bomb":
                zf.writestr(zipfile.ZipInfo(f"{cid}/padding.bin"), bytes(210 << 20), compress_type=zipfile.ZIP_DEFLATED)
    elif build == "corrupt_zip":
        (folder / f"{cid}.zip").write_bytes(b"PK\x03\x04" + secrets.token_bytes(4000))
    elif build == "symlink_files":
        d = folder / cid
        d.mkdir()
        (d / "backprop.py").symlink_to(REFERENCE / "backprop.py")
        (d / "momentum.py").symlink_to("/etc/passwd")
    elif build == "symlink_student_dir":
        (folder / cid).symlink_to(HONEST[0])
    else:
        d = folder / cid
        d.mkdir()
        text = (REFERENCE / "backprop.py").read_bytes()
        if build == "nul_byte":
            first, rest = text.split(b"\n", 1)
            data = first + b"\n# a NUL byte: \x00\n" + rest
        elif build == "latin1":
            data = text + '\nAUTHOR = "Écrit par un étudiant pressé"\n'.encode("latin-1")
        elif build == "pad_51mb":
            data = text + b"\n#" + b"x" * (51 << 20) + b"\n"
        else:
            raise AssertionError(f"case {cid}: unknown build {build!r}")
        (d / "backprop.py").write_bytes(data)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a hash of each file, the target of each link."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


# ------------------------------------------------------------------ processes and planted files --


def strays(root: Path, before: set[int], left: dict[int, str]) -> dict[int, str]:
    """What this batch left running: ``left``, what still descended from the grader run after
    it ended (``run_cli_reaped``: the batch's own processes, whatever their uid or PID
    namespace); processes with a hostile marker on their command line (a Slurm task's are not
    the run's descendants); and, as root, every process of a worker uid that has one process
    naming this batch's folders (a worker's command line names the folders it hides; its
    forks inherit it). Rootless, every worker of every grader run of this user has this uid
    and a PID namespace of its own: neither tells this batch's from another's running beside
    it (which were counted here, and killed, before the grader ran under a subreaper)."""
    procs = {pid: v for pid, v in processes().items() if pid not in before}
    found = {pid: f"pid {pid} (left below the grader run): {cmd[:200]}" for pid, cmd in left.items()}
    ours = {uid for uid, cmd in procs.values() if uid >= WORKER_UID_BASE and str(root) in cmd} if ISOLATION == "root" else set()
    for pid, (uid, cmd) in procs.items():
        if pid not in found and (uid in ours or any(m in cmd for m in PROCESS_MARKERS)):
            found[pid] = f"pid {pid} uid {uid}: {cmd[:200]}"
    return found


def planted(dirs: list[Path]) -> list[Path]:
    """Files or folders whose name carries the marker, directly in ``dirs`` or anywhere in the course."""
    hits: list[Path] = []
    for d in dirs:
        if d == ROOT:
            for sub in ("grader", "rubrics", "reference", "student_template", "examples"):
                hits += [p for p in (ROOT / sub).rglob("*") if MARK.replace("-", "") in p.name.replace("-", "").replace("_", "")]
            site = Path(sys.prefix).glob("lib/python*/site-packages/*")
            hits += [p for p in site if MARK.replace("-", "") in p.name.replace("-", "").replace("_", "")]
        elif d.is_dir() and os.access(d, os.R_OK | os.X_OK):  # (as an ordinary user /root is not to be read)
            hits += [p for p in d.iterdir() if MARK in p.name]
    return sorted(set(hits))


def remove(paths: list[Path]) -> None:
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


# ------------------------------------------------------------------ the batch --


@dataclass
class Batch:
    kind: str  # the runner: local, docker or slurm
    root: Path
    classroom: Path
    out: Path
    secret: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    results: dict[str, dict] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    decoy: str = ""
    strays: dict[int, str] = field(default_factory=dict)
    planted: list[Path] = field(default_factory=list)
    planted_run_lock: list[Path] = field(default_factory=list)
    unreaped: list[int] = field(default_factory=list)  # strays not below the reaper: the test ends them


def runner_args(kind: str) -> list[str]:
    """The CLI options for grading with ``kind``; the Docker runner only where an engine and the
    image are here (CI sets GRADER_REQUIRE_DOCKER=1: a missing engine is then a failure)."""
    if kind == "local":
        return []
    if kind == "slurm":  # the class in tasks of 15 on the cluster's nodes, each task a local grade of its chunk
        slurm_or_skip()
        return ["--slurm", "--students-per-task", "15"]
    image = os.environ.get("GRADER_TEST_IMAGE", "dl-grader:local")
    docker_runner_or_skip(image).close()
    return ["--runner", "docker", "--image", image]


@pytest.fixture(scope="module", params=["local", pytest.param("slurm", marks=[pytest.mark.slurm, pytest.mark.slow]), pytest.param("docker", marks=pytest.mark.docker)])
def batch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    extra = runner_args(request.param)
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert not set(ids) & set(HONEST)
    root = tmp_path_factory.mktemp("hostile")
    classroom, out = root / "class", root / "out"
    classroom.mkdir()
    for name in HONEST:
        (classroom / name).mkdir()
        for f in (f"{p}.py" for p in PROBLEMS):
            shutil.copyfile(REFERENCE / f, classroom / name / f)
    for case in cases_for(request.param):
        build_case(case, classroom)
    decoy = root / "decoy" / "result.json"
    decoy.parent.mkdir()
    decoy.write_text('{"decoy": "a result file the grader never wrote; nobody may touch it"}')
    remove(planted(PLANT_DIRS) + planted([RUN_LOCK]))  # ours, left by an earlier run
    before = snapshot(classroom)
    running_before = set(processes())
    secret = "GRADER-SECRET-" + secrets.token_hex(16)

    started = time.monotonic()
    # (the reaper waits a second after the run before it looks: a left-behind process has had time to show itself)
    proc, left = run_cli_reaped("grade", ASSIGNMENT, classroom, "--out", out, "--seed", str(SEED), *extra, *(a for p in PROBLEMS for a in ("--problem", p)),
                                env={"GRADER_SECRET_TOKEN": secret, "GRADER_SLURM_POLL": "1"}, timeout=1500)  # fmt: skip
    seconds = time.monotonic() - started
    b = Batch(request.param, root, classroom, out, secret, proc.returncode, proc.stdout, proc.stderr, seconds,
              before=before, after=snapshot(classroom), decoy=decoy.read_text(), strays=strays(root, running_before, left),
              planted=planted(PLANT_DIRS), planted_run_lock=planted([RUN_LOCK]))  # fmt: skip
    b.unreaped = [pid for pid in b.strays if pid not in left]
    for p in out.glob("*/result.json"):
        b.sizes[p.parent.name] = p.stat().st_size
        if b.sizes[p.parent.name] <= MAX_RESULT_BYTES:
            b.results[p.parent.name] = json.loads(p.read_text())
    for line in proc.stderr.splitlines():
        if line.startswith(("WARNING", "ERROR")):
            print(f"  grader said: {line}")
    print(f"\nhostile batch ({request.param} runner): {len(cases_for(request.param))} hostile + {len(HONEST)} honest students graded in {seconds:.0f} s (exit {proc.returncode})")
    yield b
    for pid in b.unreaped:  # what the batch left running outside the reaper's reach (it ended its own)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    remove(planted(PLANT_DIRS) + planted([RUN_LOCK]))


def result_of(batch: Batch, student: str) -> dict:
    assert student in batch.results, f"no readable result.json for {student} (exit {batch.returncode}):\n{batch.stderr[-3000:]}"
    return batch.results[student]


def outputs(result: dict) -> str:
    return "\n".join(t["output"] for t in result["tests"])


# ------------------------------------------------------------------ per case --


def test_cases_are_well_formed(course: Course) -> None:
    rubric = course.assignment(ASSIGNMENT).rubric
    graded = [p for p in rubric.problems if p.id in PROBLEMS]
    names = {t.name for p in graded for t in p.tests}
    assert len(names) == sum(len(p.tests) for p in graded), "outcomes name tests: test names must be unique"
    assert len(CASES) >= 32
    for case in CASES:
        assert case.get("surface", "runner") in ("runner", "checks"), case["id"]
        assert set(case) <= {"id", "what", "surface", "files", "build", "scores", "outcomes", "output_contains", "output_lacks", "xfail", "xfail_output"}, case["id"]
        assert case["what"].strip() and set(case["scores"]) == set(PROBLEMS), case["id"]
        assert set(case.get("outcomes", {})) <= names | {"all"}, case["id"]
        for p in graded:
            assert 0 <= case["scores"][p.id] <= p.points, case["id"]
        if "build" not in case:
            folder = HOSTILE / case["id"]
            assert sorted(f.name for f in folder.iterdir() if f.name not in ("extras", "__pycache__")) == sorted(case["files"]), case["id"]


@pytest.mark.parametrize("case", case_params("xfail"))
def test_hostile_case_scores_what_its_honest_part_deserves(batch: Batch, case: dict, course: Course) -> None:
    in_class(batch, case)
    result = result_of(batch, case["id"])
    rubric = course.assignment(ASSIGNMENT).rubric
    got = {p["id"]: p["score"] for p in result["problems"]}
    detail = "\n".join(f"  {t['test']}: {t['outcome']} {t['score']:g}/{t['max_score']:g}: {t['output'][:300]}" for t in result["tests"])
    assert got == case["scores"], f"{case['id']} ({case['what']}):\nexpected {case['scores']}, got {got}\n{detail}"
    outcomes = {t["test"]: t["outcome"] for t in result["tests"]}
    expected = dict(case.get("outcomes", {}))
    if "all" in expected:
        expected = {name: expected["all"] for name in outcomes}
    for p in rubric.problems:
        if p.id in PROBLEMS and p.file not in case["files"]:  # not submitted: every test of that problem is missing
            expected.update({t.name: "missing" for t in p.tests})
    wrong = {name: f"expected {want}, got {outcomes[name]}" for name, want in expected.items() if outcomes[name] != want}
    assert not wrong, f"{case['id']}: {wrong}\n{detail}"


@pytest.mark.parametrize("case", case_params("xfail_output", only="output_contains output_lacks"))
def test_hostile_case_tells_the_student_what_happened(batch: Batch, case: dict) -> None:
    in_class(batch, case)
    text = outputs(result_of(batch, case["id"]))
    for phrase in case.get("output_contains", []):
        assert phrase in text, f"{case['id']}: the student should read {phrase!r}; their tests say:\n{text[:3000]}"
    page = (batch.out / case["id"] / "feedback.html").read_text()
    for phrase in case.get("output_lacks", []):
        assert phrase not in text, f"{case['id']}: {phrase!r} must not reach the result:\n{text[:3000]}"
        assert phrase not in page, f"{case['id']}: {phrase!r} must not reach the student's feedback page"


# ------------------------------------------------------------------ the batch as a whole --


def test_the_batch_completes(batch: Batch) -> None:
    assert batch.returncode == 0, f"grader grade exited {batch.returncode}:\n{batch.stdout[-2000:]}\n{batch.stderr[-5000:]}"
    expected = {c["id"] for c in cases_for(batch.kind)} | set(HONEST)
    assert set(batch.sizes) == expected
    assert f"Graded {len(expected)} submissions of {ASSIGNMENT}." in batch.stdout


def test_honest_neighbours_keep_full_marks(batch: Batch) -> None:
    for name in HONEST:
        result = result_of(batch, name)
        not_passed = {t["test"]: f"{t['outcome']}: {t['output'][:500]}" for t in result["tests"] if t["outcome"] != "passed"}
        assert result["score"] == result["max_score"] == 50 and not not_passed, f"{name}: {not_passed}"  # 25 + 25


def test_no_submission_changed_and_the_decoy_is_untouched(batch: Batch) -> None:
    changed = {k: (batch.before.get(k), batch.after.get(k)) for k in set(batch.before) | set(batch.after) if batch.before.get(k) != batch.after.get(k)}
    assert not changed, f"submission files changed during grading: {changed}"
    assert batch.decoy == '{"decoy": "a result file the grader never wrote; nobody may touch it"}'


def test_every_result_file_is_the_graders_own(batch: Batch, course: Course) -> None:
    rubric = course.assignment(ASSIGNMENT).rubric
    listed = [(p.id, t.name, t.points, t.visibility) for p in rubric.problems if p.id in PROBLEMS for t in p.tests]
    for student, size in sorted(batch.sizes.items()):
        assert size <= MAX_RESULT_BYTES, f"{student}/result.json is {size} bytes"
        path = batch.out / student / "result.json"
        result = Result.load(path)
        assert (result.assignment, result.student, result.mode, result.seed) == (ASSIGNMENT, student, "grade", SEED), student
        assert [(t.problem, t.test, t.max_score, t.visibility) for t in result.tests] == listed, f"{student}: not the rubric's tests"
        for t in result.tests:
            assert t.score == (t.max_score if t.outcome == "passed" else 0.0), f"{student}: {t.test}"
            assert t.status == ("passed" if t.outcome == "passed" else "failed"), f"{student}: {t.test}"
            assert "grader itself failed" not in t.output, f"{student}: {t.test}: {t.output[:2000]}"
        assert result.score == sum(t.score for t in result.tests) and result.max_score == 50, student
        for p in result.problems:
            assert p.score == sum(t.score for t in result.tests if t.problem == p.id), f"{student}: {p.id}"
        assert [p.id for p in result.problems] == list(PROBLEMS), student
    rows = list(csv.DictReader((batch.out / "gradebook.csv").open()))
    assert list(rows[0]) == ["student", *(p.id for p in rubric.problems), "score", "max_score", "diagnosis"]  # problems not graded: empty
    book = {r["student"]: r for r in rows}
    assert set(book) == set(batch.sizes)
    for student, row in book.items():
        r = batch.results[student]
        by = {p["id"]: p["score"] for p in r["problems"]}
        assert [float(row[p]) for p in PROBLEMS] == [by[p] for p in PROBLEMS], student
        assert [row[p.id] for p in rubric.problems if p.id not in PROBLEMS] == ["", ""], student
        assert (float(row["score"]), float(row["max_score"])) == (r["score"], 50.0), student


def test_the_output_folder_holds_only_the_graders_files(batch: Batch) -> None:
    allowed = {"gradebook.csv", "gradebook-canvas.csv", "intake.txt", "summary.html"} | {f"{s}/{f}" for s in batch.sizes for f in ("result.json", "feedback.html")} | set(batch.sizes)
    # The class's similarity (a class of 10 or more, graded here: not through Slurm): its report and pair pages
    allowed |= {"similarity", "similarity/similarity.json", "similarity/similarity.html", "similarity/similarity"}
    allowed |= {p for p in (str(p.relative_to(batch.out)) for p in batch.out.glob("similarity/similarity/*"))
                if re.fullmatch(r"similarity/similarity/pair-[0-9]{4}\.html", p)}
    # A --slurm run's own folder: the task script, the chunks submitted, each task's log and record
    slurm = re.compile(r"\.slurm(/[0-9]{8}-[0-9]{6}-[0-9a-f]{6}(/(run\.json|task\.sh|chunks-[0-9]+\.json|task-[0-9]+_[0-9]+\.(log|json)))?)?")
    extra = sorted(str(p.relative_to(batch.out)) for p in batch.out.rglob("*")
                   if str(p.relative_to(batch.out)) not in allowed and not slurm.fullmatch(str(p.relative_to(batch.out))))
    assert not extra, f"files in the output folder the grader did not write: {extra}"
    assert not [p for p in batch.out.rglob("*") if p.is_symlink()]


def test_no_secret_in_any_output(batch: Batch) -> None:
    leaks = [str(p) for p in batch.out.rglob("*") if p.is_file() and batch.secret.encode() in p.read_bytes()]
    assert not leaks, f"the grader's secret appears in {leaks}"
    assert batch.secret not in batch.stdout and batch.secret not in batch.stderr


def test_student_output_stays_inert_in_feedback_pages(batch: Batch) -> None:
    for page in batch.out.glob("*/feedback.html"):
        html = page.read_text()
        assert "<script>alert" not in html and "<img src=x" not in html and "\x1b[" not in html, page


def test_no_process_is_left_running(batch: Batch) -> None:
    assert not batch.strays, "left running after grading:\n" + "\n".join(batch.strays.values())


def test_the_stray_check_counts_what_the_run_left_and_nothing_beside_it(tmp_path: Path) -> None:
    """What ``strays`` relies on (tests/reaper.py, under which ``run_cli_reaped`` runs the batch):
    a daemon the run left (forked twice, in a session of its own, its parent gone) is reported
    and ended; a process of this same uid started beside the run, in a PID namespace of its own
    where one can be made (as another batch's worker is, rootless: the rule of old counted it,
    and the batch's clean-up killed it), is neither reported nor touched."""
    tag = secrets.token_hex(4)
    beside_cmd = [sys.executable, "-c", f"import time; time.sleep(120)  # beside-{tag}"]
    userns = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child"]
    if shutil.which("unshare") and subprocess.run([*userns, "true"], capture_output=True).returncode == 0:
        beside_cmd = [*userns, *beside_cmd]
    daemon = f"import os, time\nif os.fork(): os._exit(0)\nos.setsid()\nif os.fork(): os._exit(0)\nnull = os.open(os.devnull, os.O_RDWR)\nfor fd in (0, 1, 2): os.dup2(null, fd)\ntime.sleep(120)  # daemon-{tag}"
    report = tmp_path / "report.json"
    beside = subprocess.Popen(beside_cmd, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (seen := [pid for pid, (_, cmd) in processes().items() if f"beside-{tag}" in cmd and "unshare" not in cmd]):
            assert time.monotonic() < deadline and beside.poll() is None, "the process beside the run did not start"
            time.sleep(0.05)
        done = subprocess.run([sys.executable, str(ROOT / "tests" / "reaper.py"), str(report), "0.5", "--", sys.executable, "-c", daemon],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        left = {int(pid): cmd for pid, cmd in json.loads(report.read_text())["left"].items()}
        assert len(left) == 1 and f"daemon-{tag}" in next(iter(left.values())), f"the run's daemon, and only it: {left}"
        assert _state(next(iter(left))) in ("gone", "Z"), "the reaper did not end what the run left"
        assert beside.poll() is None and all(_state(pid) not in ("gone", "Z") for pid in seen), "the reaper ended a process beside the run"
    finally:
        beside.kill()
        beside.wait()


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return next((line.split()[1] for line in status.splitlines() if line.startswith("State:")), "gone")


def test_nothing_is_written_outside_the_sandbox(batch: Batch) -> None:
    assert not batch.planted, f"hostile submissions planted {batch.planted}"


def test_nothing_is_written_into_run_lock(batch: Batch) -> None:
    assert not batch.planted_run_lock, f"hostile submissions planted {batch.planted_run_lock}"
