"""Issue 27: every assignment of every course in the repository releases, with the grader's
wheel, with and without notebooks, and each release self-checks the way a student does it;
and the leak search, which is about the course's secrets and not the grader's own words,
still refuses a real leak.

How a release is self-checked here, and why that is what a student gets: one virtual
environment for this module, made as on a student's laptop that has PyTorch (``fresh_venv``:
no grader in it), with the grader installed by pip from its wheel, as the release's README
says. Every release ships the same wheel, byte for byte (each test asserts it of its own), so
installing it once is installing each release's. Every check is that environment's ``grader``
command, run in the release folder with nothing of this checkout in its environment (no
PYTHONPATH, GRADER_COURSE or VIRTUAL_ENV): the grader that runs is the wheel's and the course
it finds is the release's ``.grader/``. A fresh environment per release would cost a pip
install each and check nothing more.

What is checked in each release: the untouched template scores zero on every public test,
with its own "Not written yet" messages (the CUDA-only problems are skipped, as on a
student's CPU); then the reference, handed in as a student would (the ``.py`` files in a
release without notebooks, notebooks in place of the ``.py`` files in one with them), gets
full marks on every public test that runs on a CPU. In a release with notebooks, the template
is checked notebook by notebook with each notebook's own Self-check command (its ``.py``
files and ``.grader/`` are asserted to be those of the release without notebooks, whose test
checks them). A heavy problem (``heavy``: LNiN's 340M-parameter networks, a minute and gigabytes
per check) is self-checked in the tests marked slow (`make test-all`) only.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

import grader
from conftest import ROOT, fresh_venv, run_cli
from grader._course.layout import Assignment, Course
from grader._exceptions import ConfigError
from grader._course.models import ProblemSpec
from grader._notebooks.template import template_notebook
from grader._authoring.release import build_wheel, leaks, release


def repository_courses() -> list[Path]:
    """Every course folder of the repository: each folder with a ``course.toml`` that git
    tracks (outside a git checkout: each one on disk, hidden folders left out), less the
    releases (a student's copy has nothing to release)."""
    proc = subprocess.run(["git", "ls-files", "-z", "--", ":(glob)**/course.toml"], cwd=ROOT, capture_output=True)
    if proc.returncode == 0 and proc.stdout:
        files = [ROOT / f for f in proc.stdout.decode().split("\0") if f]
    else:
        files = [f for f in ROOT.rglob("course.toml") if not any(p.startswith(".") for p in f.relative_to(ROOT).parts)]
    return sorted(f.parent for f in files if f.is_file() and not Course.locate(f.parent).released)


COURSES = repository_courses()
CASES = [pytest.param(root, a, notebooks, id=f"{root.relative_to(ROOT).as_posix() if root != ROOT else 'main'}/{a}"
                      f"{'/notebooks' if notebooks else ''}")
         for root in COURSES for a in Course.locate(root).assignment_ids() for notebooks in (False, True)]


def test_the_courses_of_the_repository_are_all_found() -> None:
    assert ROOT in COURSES and ROOT / "examples" / "intro-course" in COURSES, COURSES
    assert len(CASES) == 2 * sum(len(Course.locate(r).assignment_ids()) for r in COURSES) >= 10


# ------------------------------------------------------------- the student --


@dataclass(frozen=True)
class Student:
    wheel: bytes  # the wheel installed
    env: dict[str, str]

    def run(self, command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(shlex.split(command), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Student:
    """A virtual environment with the grader installed from its wheel (pip, offline)."""
    tmp = tmp_path_factory.mktemp("student")
    wheel = build_wheel(tmp / "wheel")
    venv = fresh_venv(tmp)
    pip = subprocess.run([venv / "bin" / "pip", "install", "--no-index", f"./{wheel.name}"], cwd=wheel.parent,
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_COURSE", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    s = Student(wheel=wheel.read_bytes(), env=env)
    where = s.run("python -c 'import grader; print(grader.__file__)'", cwd=tmp)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel's grader, not this checkout's
    return s


# ------------------------------------------------------------ what it says --


@dataclass(frozen=True)
class Told:
    mark: str
    score: float
    max_score: float
    lines: list[str]  # what is said under it


# A check's progress (stderr): "  {mark:>7}  {score}/{max}  {problem}: {title}", then its message indented.
_TEST = re.compile(r"^ {2,}(PASS|FAIL|ERROR|TIMEOUT|MISSING|SKIP)  ([\d.]+)/([\d.]+)  (\S+: .*)$")


def told(proc: subprocess.CompletedProcess[str]) -> dict[str, Told]:
    tests: dict[str, Told] = {}
    last = None
    for line in proc.stderr.splitlines():
        if m := _TEST.match(line):
            last = m.group(4)
            assert last not in tests, f"{last} told twice:\n{proc.stderr}"
            tests[last] = Told(m.group(1), float(m.group(2)), float(m.group(3)), [])
        elif last is not None and line.startswith(" " * 11):
            tests[last].lines.append(line.strip())
    return tests


def public(problems: list[ProblemSpec]) -> dict[str, float]:
    """Each public test's name as the grader shows it, and its points."""
    return {f"{p.id}: {t.title}": t.points for p in problems for t in p.tests if t.visibility == "visible"}


def stubs(template: Path) -> set[str]:
    """The first line of each message the template's stubs raise (``raise NotImplementedError("...")``)."""
    found = set()
    for node in ast.walk(ast.parse(template.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name) \
                and node.exc.func.id == "NotImplementedError" and node.exc.args and isinstance(node.exc.args[0], ast.Constant):
            found.add(str(node.exc.args[0].value).splitlines()[0])
    return found


def says(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def assert_template_scores_zero(a: Assignment, proc: subprocess.CompletedProcess[str], problems: list[ProblemSpec],
                                notebook: str | None = None) -> None:
    """What a template scores: zero on every public test of ``problems``, each problem saying
    its stub is not written yet, with the template's own message (and, for a notebook, where
    in it); CUDA-only problems skipped."""
    assert proc.returncode == (1 if [p for p in problems if p.needs != "cuda"] else 0), says(proc)  # a skip fails nothing
    tests = told(proc)
    assert set(tests) == set(public(problems)), says(proc)
    for p in problems:
        mine = {name: tests[name] for name in public([p])}
        assert all(t.score == 0 and t.max_score == public([p])[name] for name, t in mine.items()), (p.id, says(proc))
        if p.needs == "cuda":
            assert {t.mark for t in mine.values()} == {"SKIP"}, (p.id, says(proc))
            assert f"{p.id} needs a CUDA GPU" in proc.stdout, says(proc)
            continue
        assert {t.mark for t in mine.values()} <= {"ERROR", "FAIL"}, (p.id, says(proc))
        shown = {line.split("Not written yet: ", 1)[1] for t in mine.values() for line in t.lines
                 if line.startswith("Not written yet: ")}
        assert shown, (p.id, says(proc))
        given = stubs(a.template_file(p.file))  # (derived from the reference where the course keeps one file)
        assert not given or shown <= given, (p.id, shown, given)  # the template's own words
        if notebook:
            assert any(line.startswith(f'File "{notebook}", cell ') for t in mine.values() for line in t.lines), says(proc)
    assert f"Public tests: 0/{sum(public(problems).values()):g}." in proc.stdout, says(proc)


def assert_full_marks(a: Assignment, proc: subprocess.CompletedProcess[str], folder: Path, problems: list[ProblemSpec]) -> None:
    """Every public test of ``problems`` passes, but those of the CUDA-only problems, skipped on a CPU."""
    assert proc.returncode == 0, says(proc)
    tests = told(proc)
    assert set(tests) == set(public(problems)), says(proc)
    for p in problems:
        for name, points in public([p]).items():
            t = tests[name]
            if p.needs == "cuda":
                assert (t.mark, t.score) == ("SKIP", 0), (name, says(proc))
            else:
                assert (t.mark, t.score, t.max_score) == ("PASS", points, points), (name, says(proc))
    runnable = sum(public([p for p in problems if p.needs != "cuda"]).values())
    assert f"Public tests: {runnable:g}/{sum(public(problems).values()):g}." in proc.stdout, says(proc)
    shown = proc.stdout + proc.stderr + (folder / "feedback.html").read_text(encoding="utf-8")
    assert not [h for h in hidden(a) if h in shown]


# ----------------------------------------------------------- what it holds --


def hidden(a: Assignment) -> list[str]:
    return [t.name for p in a.rubric.problems for t in p.tests if t.visibility != "visible"]


def grader_files() -> dict[str, bytes]:
    """The grader's package as it runs here (this test's own reading of it)."""
    package = Path(grader.__file__).resolve().parent
    return {f"grader/{f.relative_to(package).as_posix()}": f.read_bytes() for f in package.rglob("*")
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"}


def assert_nothing_hidden(a: Assignment, out: Path, wheel: str) -> None:
    """Searched by this test itself: no hidden check's name and no whole reference file in any
    file of the release; the wheel holds the grader's package, byte for byte as it runs here,
    and its dist-info (searched too), nothing else."""
    with zipfile.ZipFile(out / wheel) as z:
        members = {m: z.read(m) for m in z.namelist()}
    package = {m: data for m, data in members.items() if m.startswith("grader/")}
    assert package == grader_files(), sorted(set(package) ^ set(grader_files()))
    rest = {m: data for m, data in members.items() if m not in package}
    assert rest and all(m.startswith("dl_grader-") and ".dist-info/" in m for m in rest), sorted(rest)
    texts = {f"{wheel}!{m}": data.decode("utf-8", "replace") for m, data in rest.items()}
    texts |= {p.relative_to(out).as_posix(): p.read_bytes().decode("utf-8", "replace")
              for p in out.rglob("*") if p.is_file() and p.name != wheel}
    references = [r.read_text() for r in a.reference_dir.rglob("*.py")
                  if not (a.template_dir / r.relative_to(a.reference_dir)).is_file()
                  or (a.template_dir / r.relative_to(a.reference_dir)).read_text() != r.read_text()]
    for where, text in texts.items():
        assert not [h for h in hidden(a) if h in text], (where, [h for h in hidden(a) if h in text])
        assert not [r for r in references if r in text], where
    assert not (out / ".grader" / "reference").exists() and not (out / ".grader" / "rubrics" / a.id / "hidden").exists()
    assert not list((out / ".grader").rglob("mistakes*"))


def released(root: Path, assignment: str, out: Path, *, notebooks: bool) -> tuple[str, str]:
    """`grader release` as the instructor runs it (with the wheel: the default); the wheel's
    name and the release's README."""
    proc = run_cli("release", assignment, "--out", out, *(["--notebooks"] if notebooks else []), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = [p.name for p in out.iterdir() if p.suffix == ".whl"]
    assert len(wheels) == 1 and not [p for p in out.rglob("*.whl") if p.parent != out], wheels
    return wheels[0], (out / "README.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ tests --


def heavy(p: ProblemSpec) -> bool:
    """A problem whose checks build networks of gigabytes: the rubric gives its worker 8 GiB or
    more (mfdnn-hw7's lnin: LNiN's 340M parameters, what the ``slow`` marker names). Its every
    self-check costs a minute on two cores and gigabytes: `make test-all` checks it in every
    release, `make test` not at all."""
    return p.memory_mb >= 8192


def self_check(root: Path, assignment: str, notebooks: bool, student: Student, tmp: Path, *, heavy_ones: bool) -> None:
    """Release ``assignment`` and self-check it as a student does: its problems that are not
    heavy, or (``heavy_ones``) those that are."""
    course = Course.locate(root)
    assert course.install is None, "the course names its own install command: its releases ship no wheel to check here"
    a = course.assignment(assignment)
    checked = [p for p in a.rubric.problems if heavy(p) == heavy_ones]
    out = tmp / "release"
    wheel, readme = released(root, assignment, out, notebooks=notebooks)
    assert (out / wheel).read_bytes() == student.wheel, "not the wheel installed here: every release ships the same grader"
    assert_nothing_hidden(a, out, wheel)

    # The README's own instructions: PyTorch's CPU build (the student environment here has
    # PyTorch), install the wheel (done once, for every release), then check.
    section = readme.split("\n## Checking your work with the grader\n", 1)
    assert len(section) == 2, readme
    commands = re.findall(r"^ {4,}((?:pip install|grader check) .+?)\s*$", section[1], re.M)
    assert commands.pop(0) == "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu", commands
    assert commands[:2] == [f"pip install ./{wheel}", f"grader check {assignment}"], commands
    check = commands[1]
    assert f"`grader check {assignment} --problem ID` checks one problem" in section[1]
    only = check if checked == a.rubric.problems else check + "".join(f" --problem {p.id}" for p in checked)

    if not notebooks:
        assert len(commands) == 2 and not list(out.glob("*.ipynb")), commands
        if checked:
            assert_template_scores_zero(a, student.run(only, cwd=out), checked)
            for f in a.student_files:
                shutil.copyfile(a.reference_dir / f, out / f)
            assert_full_marks(a, student.run(only, cwd=out), out, checked)
        return

    # With notebooks: the rest of the release is the release without them (whose test checks
    # its .py files), but the README, which says how to work in a notebook.
    plain = tmp / "plain"
    release(assignment, plain, course=course)
    # (the hints for self-checks, .grader/hints/, come with `grader release`'s default, not with
    # release()'s: tests/system/test_selfcheck_hints.py checks them)
    ours = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
            and not p.relative_to(out).as_posix().startswith(".grader/hints/")}
    theirs = {p.relative_to(plain).as_posix(): p.read_bytes() for p in plain.rglob("*") if p.is_file()}
    notebooks_ = sorted(f for f in ours if f.endswith(".ipynb"))
    assert notebooks_ == sorted(Path(f).with_suffix(".ipynb").as_posix() for f in a.student_files if f.endswith(".py"))
    assert {f: d for f, d in ours.items() if f not in notebooks_ and f != "README.md"} == \
           {f: d for f, d in theirs.items() if f != "README.md"}
    assert readme.startswith(theirs["README.md"].decode().rstrip("\n")) and "## Working in a notebook" in readme
    assert len(commands) == 3 and re.fullmatch(rf"grader check {re.escape(assignment)} \S+\.ipynb", commands[2]), commands
    assert commands[2].split()[-1] in notebooks_, commands

    # Each template notebook, checked with its own Self-check cell's command: its problems score zero.
    mine = {name: [p for p in a.rubric.problems if Path(p.file).with_suffix(".ipynb").as_posix() == name] for name in notebooks_}
    for name in notebooks_:
        cell = nbformat.read(out / name, as_version=4).cells[-1].source
        assert cell == f"!grader check {assignment} {name}", cell
        if mine[name] and all(p in checked for p in mine[name]):
            assert_template_scores_zero(a, student.run(cell[1:], cwd=out), mine[name], notebook=Path(name).name)

    # The reference, handed in as notebooks in place of the .py files: full marks.
    if not checked:
        return
    for f in a.student_files:
        (out / f).unlink()
        nb = template_notebook((a.reference_dir / f).read_text(encoding="utf-8"), file_name=Path(f).name, assignment=assignment)
        (out / f).with_suffix(".ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    assert_full_marks(a, student.run(only, cwd=out), out, checked)
    page = (out / "feedback.html").read_text(encoding="utf-8")
    read = [Path(n).name for n, problems in mine.items() if {p.id for p in problems} & {p.id for p in checked}]
    assert read and all(f"{n}: the grader ran only the imports" in page for n in read), page  # read from the notebooks


@pytest.mark.parametrize("root, assignment, notebooks", CASES)
def test_the_release_self_checks_as_a_student_would(root: Path, assignment: str, notebooks: bool, student: Student,
                                                     tmp_path: Path) -> None:
    self_check(root, assignment, notebooks, student, tmp_path, heavy_ones=False)


HEAVY = [c for c in CASES if any(heavy(p) for p in Course.locate(c.values[0]).assignment(c.values[1]).rubric.problems)]  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("root, assignment, notebooks", HEAVY)
def test_the_release_self_checks_its_heavy_problems_too(root: Path, assignment: str, notebooks: bool, student: Student,
                                                        tmp_path: Path) -> None:
    self_check(root, assignment, notebooks, student, tmp_path, heavy_ones=True)


# ---------------------------------------------------------- real leaks --


@pytest.fixture
def intro(tmp_path: Path) -> Path:
    """A copy of examples/intro-course to spoil (its sample class left out)."""
    course = tmp_path / "course"
    shutil.copytree(ROOT / "examples" / "intro-course", course, ignore=shutil.ignore_patterns("submissions", "__pycache__"))
    return course


def refused(course: Path, out: Path, **options: bool) -> str:
    with pytest.raises(ConfigError, match="the release would give students what is hidden; nothing was written") as info:
        release("hw1", out, course=Course.locate(course), **options)
    assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(".release-")]
    return str(info.value)


def test_a_hidden_check_s_name_in_a_template_is_refused(intro: Path, tmp_path: Path) -> None:
    template = intro / "student_template" / "hw1" / "logsumexp.py"
    template.write_text(template.read_text() + "\n# (the graders also try other shapes: test_other_shapes)\n")
    message = refused(intro, tmp_path / "rel")
    assert re.search(r"\n  logsumexp\.py:\d+: the hidden check test_other_shapes", message), message
    # In the notebook too, when it is written.
    message = refused(intro, tmp_path / "rel", notebooks=True)
    assert re.search(r"\n  logsumexp\.ipynb:\d+: the hidden check test_other_shapes", message), message


def test_three_lines_of_a_reference_in_a_template_are_refused(intro: Path, tmp_path: Path) -> None:
    reference = (intro / "reference" / "hw1" / "logsumexp.py").read_text()
    readme = intro / "student_template" / "hw1" / "README.md"
    readme.write_text(readme.read_text() + "\n## A worked example\n\n```python\n" + reference + "```\n")
    message = refused(intro, tmp_path / "rel")
    assert re.search(r"\n  README\.md:\d+: lines of the reference reference/hw1/logsumexp\.py", message), message
    # Only three of them, in a template's code. (Not in logsumexp.py's own template: what the
    # template of a file has, the reference may have too; `grader validate` sees a template
    # that solves its problem.)
    lines = [line for line in reference.splitlines() if re.match(r"    (\w+ = |return )", line)]  # its code, not its docstring
    readme.write_text(readme.read_text().split("\n## A worked example", 1)[0])
    template = intro / "student_template" / "hw1" / "mlp.py"
    copied = "\n".join(lines[:3])
    assert len(lines) >= 3 and copied not in template.read_text()
    template.write_text(template.read_text() + "\n\ndef _scratch(x, dim):\n" + copied + "\n    return m\n")
    message = refused(intro, tmp_path / "rel")
    assert re.search(r"\n  mlp\.py:\d+: lines of the reference reference/hw1/logsumexp\.py", message), message
    template.write_text(template.read_text().replace(lines[1] + "\n", ""))  # two of them are no leak
    assert release("hw1", tmp_path / "rel", course=Course.locate(intro)).wheel


def _spoiled_wheel(real: object, extra: dict[str, bytes]):  # type: ignore[no-untyped-def]
    """build_wheel, then ``extra`` written into the wheel (a new member, or one replaced)."""
    def build(dest: Path) -> Path:
        wheel = real(dest)  # type: ignore[operator]
        with zipfile.ZipFile(wheel) as z:
            members = {m: z.read(m) for m in z.namelist()}
        members |= extra
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
            for m, data in members.items():
                z.writestr(m, data)
        return wheel
    return build


def test_a_course_file_in_the_grader_s_wheel_is_refused(intro: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import grader._authoring.release as release_module

    real = release_module.build_wheel
    hidden_module = (intro / "rubrics" / "hw1" / "hidden" / "test_logsumexp.py").read_bytes()
    reference = (intro / "reference" / "hw1" / "logsumexp.py").read_bytes()
    # A course's file added to the wheel.
    monkeypatch.setattr(release_module, "build_wheel", _spoiled_wheel(real, {"grader/_course_notes.py": hidden_module}))
    message = refused(intro, tmp_path / "rel")
    wheel = re.escape(release_module._grader_wheel()[0])
    assert re.search(rf"\n  {wheel}!grader/_course_notes\.py: not the grader's own file \(the grader has no such file", message), message
    assert re.search(rf"\n  {wheel}!grader/_course_notes\.py:\d+: the hidden check test_other_shapes", message), message
    # A grader's file changed to hold a reference.
    init = (Path(grader.__file__).resolve().parent / "__init__.py").read_bytes()
    monkeypatch.setattr(release_module, "build_wheel", _spoiled_wheel(real, {"grader/__init__.py": init + b"\n" + reference}))
    message = refused(intro, tmp_path / "rel")
    assert re.search(rf"\n  {wheel}!grader/__init__\.py: not the grader's own file \(it differs from grader/__init__\.py", message), message
    assert re.search(rf"\n  {wheel}!grader/__init__\.py:\d+: lines of the reference reference/hw1/logsumexp\.py", message), message
    # A course file beside the wheel, in a wheel of its own (not the grader's): searched as any file.
    monkeypatch.setattr(release_module, "build_wheel", real)
    given = intro / "student_template" / "hw1" / "helpers-0.1-py3-none-any.whl"
    with zipfile.ZipFile(given, "w") as z:
        z.writestr("helpers/notes.py", hidden_module)
    message = refused(intro, tmp_path / "rel")
    assert "\n  helpers-0.1-py3-none-any.whl!helpers/notes.py:" in message and "not the grader's own" not in message, message


def test_the_grader_s_own_words_are_no_leak(intro: Path, tmp_path: Path) -> None:
    """A hidden check named as an example in the grader's own docs (grader/__init__.py) does
    not stop the release: the grader's package in its wheel is the same for every course. The
    same name anywhere else in the release does."""
    word = "test_more_inputs"
    assert word.encode() in (Path(grader.__file__).resolve().parent / "__init__.py").read_bytes()
    for rel in ("rubrics/hw1/rubric.toml", "rubrics/hw1/hidden/test_logsumexp.py", "rubrics/hw1/mistakes.toml"):
        path = intro / rel
        path.write_text(path.read_text().replace("test_other_shapes", word))
    course = Course.locate(intro)
    assert word in hidden(course.assignment("hw1"))
    r = release("hw1", tmp_path / "rel", course=course)
    assert r.wheel and leaks(course.assignment("hw1"), r.out) == []
    with zipfile.ZipFile(r.out / r.wheel) as z:
        assert word.encode() in z.read("grader/__init__.py")
    (r.out / "notes.md").write_text(f"see {word}\n")
    assert leaks(course.assignment("hw1"), r.out) == [f"notes.md:1: the hidden check {word} ({word!r})"]
