"""``grader new``: a course, an assignment or a problem, scaffolded so that ``grader validate``
runs at once and says what is still to write.

Every file it writes is complete and runs: the placeholders (a function that doubles its
input, a network that is one ``nn.Linear``) agree between reference, checks and known
mistakes, so validate grades them for real. Each placeholder carries the marker
``TODO(grader new)``; ``grader validate`` lists every line that still has one and fails
until none is left.

What it writes is in ``templates/`` beside this module (Jinja2, package data): ``course/``,
``assignment/`` and ``problem/`` (the rubric entry and README line every problem adds), and
one folder per kind of problem (``function/``, ``module/``) with its files and the known
mistakes it appends. A TOML value that is not an id checked here is written by tomli-w (the
``toml`` filter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._course.layout import MARKER, Assignment, Course, toml_value
from .._exceptions import ConfigError

if TYPE_CHECKING:
    from jinja2 import Environment

TODO = "TODO(grader new)"
Kind = Literal["function", "module"]

# Each kind's files: its template in templates/<kind>/, and where it goes in the course
# ({a}: the assignment, {p}: the problem), in the order they are written.
FILES: dict[Kind, dict[str, str]] = {
    "function": {
        "student_template.py.j2": "student_template/{a}/{p}.py",
        "reference.py.j2": "reference/{a}/{p}.py",
        "test.py.j2": "rubrics/{a}/test_{p}.py",
        "hidden_test.py.j2": "rubrics/{a}/hidden/test_{p}.py",
    },
    "module": {
        "student_template.py.j2": "student_template/{a}/{p}.py",
        "reference.py.j2": "reference/{a}/{p}.py",
        "driver.py.j2": "rubrics/{a}/drivers/{p}.py",
        "test.py.j2": "rubrics/{a}/test_{p}.py",
        "hidden_test.py.j2": "rubrics/{a}/hidden/test_{p}.py",
    },
}
# Each kind's three tests, (public, second public, hidden), after test_<problem>_.
TESTS: dict[Kind, tuple[str, str, str]] = {
    "function": ("small", "form", "hidden"),
    "module": ("outputs", "parameters", "hidden_sizes"),
}


@dataclass(frozen=True)
class Scaffold:
    root: Path
    written: list[Path]  # the files made (or added to)


@lru_cache(maxsize=1)
def _env() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("grader._authoring", "templates"), autoescape=False,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["toml"] = toml_value
    return env


def render(template: str, **context: Any) -> str:
    """``templates/<template>`` with ``context`` (and ``todo``, the placeholders' marker)."""
    return _env().get_template(template).render(todo=TODO, **context)


def _check_kind(kind: str) -> None:
    if kind not in FILES:
        raise ConfigError(f"{kind!r} is no kind of problem: --kind is {' or '.join(FILES)}")


def _write(path: Path, text: str, written: list[Path]) -> None:
    if path.exists():
        raise ConfigError(f"{path} exists already: `grader new` never overwrites a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    written.append(path)


def _append(path: Path, text: str, written: list[Path]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)
    written.append(path)


# ---------------------------------------------------------------- course --


# Where a new course's CI gets the grader when it was not installed from a git URL: the grader's
# own wheel, written into the course (the grader the course was made with).
WHEEL_DIR = "grader-wheel"
# What a new course's CI writes, and where (CI: its `grader validate --all` on every push).
CI_FILES = {"github-workflow.yml.j2": ".github/workflows/grader.yml", "gitlab-ci.yml.j2": ".gitlab-ci.yml"}


def new_course(root: Path, title: str | None = None) -> Scaffold:
    """A course in ``root``: course.toml, its folders, README and .gitignore, and its CI
    (``CI_FILES``: GitHub Actions and GitLab CI running ``grader validate --all``). The CI
    installs this grader: from git at its commit when it was installed from git
    (``wheel.installed_from_git``), else from its own wheel, written into ``grader-wheel/``."""
    from .wheel import build_wheel, grader_wheel, installed_from_git

    root = Path(root)
    if (root / MARKER).exists():
        raise ConfigError(f"{root / MARKER} exists: {root} is a course already")
    for rel in CI_FILES.values():
        if (root / rel).exists():
            raise ConfigError(f"{root / rel} exists already: `grader new` never overwrites a file")
    written: list[Path] = []
    title = title or root.resolve().name
    requirement = installed_from_git()
    wheel = None if requirement else f"{WHEEL_DIR}/{grader_wheel()[0]}"
    _write(root / MARKER, render("course/course.toml.j2", title=title), written)
    for folder in ("rubrics", "reference", "student_template"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    _write(root / ".gitignore", render("course/gitignore.j2"), written)
    _write(root / "README.md", render("course/README.md.j2", title=title, wheel=wheel, wheel_dir=WHEEL_DIR), written)
    for template, rel in CI_FILES.items():
        _write(root / rel, render(f"course/{template}", requirement=requirement or f"./{wheel}", wheel=wheel, wheel_dir=WHEEL_DIR), written)
    if wheel is not None:
        written.append(build_wheel(root / WHEEL_DIR))
    return Scaffold(root, written)


# ------------------------------------------------------------ assignment --


def new_assignment(course: Course, assignment: str, problem: str, *, title: str | None = None,
                   kind: Kind = "function") -> Scaffold:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", assignment):
        raise ConfigError(f"{assignment!r}: an assignment id is lower-case letters, digits and '-' (e.g. hw1)")
    _check_kind(kind)
    a = Assignment(assignment, course.root)
    if a.rubric_dir.exists():
        raise ConfigError(f"{a.rubric_dir} exists: add a problem with `grader new problem {assignment} ID`")
    written: list[Path] = []
    _write(a.rubric_dir / "rubric.toml", render("assignment/rubric.toml.j2", assignment=assignment,
                                                title=title or f"{assignment} ({TODO}: the assignment's title)"), written)
    _write(a.rubric_dir / "mistakes.toml", render("assignment/mistakes.toml.j2", assignment=assignment), written)
    _write(a.template_dir / "README.md", render("assignment/README.md.j2", assignment=assignment, title=title), written)
    scaffold = new_problem(course, assignment, problem, kind=kind, _assignment=a)
    return Scaffold(course.root, written + scaffold.written)


# --------------------------------------------------------------- problem --


def new_problem(course: Course, assignment: str, problem: str, *, kind: Kind = "function", title: str | None = None,
                _assignment: Assignment | None = None) -> Scaffold:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", problem):
        raise ConfigError(f"{problem!r}: a problem id is a Python name in lower case (e.g. softmax), the student's file is <id>.py")
    _check_kind(kind)
    a = _assignment or course.assignment(assignment)
    rubric = a.rubric_dir / "rubric.toml"
    if not rubric.is_file():
        raise ConfigError(f"no assignment {assignment!r} in {course.root / 'rubrics'}: `grader new assignment {assignment} --problem {problem}`")
    if _assignment is None and problem in {p.id for p in a.rubric.problems}:
        raise ConfigError(f"{assignment} has a problem {problem!r} already")
    written: list[Path] = []
    public, second, hidden = (f"test_{problem}_{t}" for t in TESTS[kind])
    context = dict(assignment=assignment, problem=problem, public=public, second=second, hidden=hidden)
    for template, rel in FILES[kind].items():
        _write(course.root / rel.format(a=assignment, p=problem), render(f"{kind}/{template}", **context), written)
    _append(rubric, render("problem/rubric.toml.j2", title=title or f"{problem} ({TODO}: its title)", **context), written)
    _append(a.rubric_dir / "mistakes.toml", render(f"{kind}/mistakes.toml.j2", **context), written)
    readme = a.template_dir / "README.md"
    if readme.is_file():
        with readme.open("a", encoding="utf-8") as f:
            f.write(render("problem/README.md.j2", **context))
    return Scaffold(course.root, written)


def todos(a: Assignment) -> list[str]:
    """Every line of the assignment's material that still holds a placeholder of ``grader new``."""
    paths = [a.rubric_dir / "rubric.toml", a.rubric_dir / "mistakes.toml"]
    for folder in (a.rubric_dir, a.template_dir, a.reference_dir):
        if folder.is_dir():
            paths += sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".md", ".toml") and p not in paths)
    found = []
    for path in paths:
        if not path.is_file():
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if TODO in line:
                what = line.split(TODO, 1)[1].lstrip(": ").strip().rstrip('"').rstrip(".")
                if "(" not in what:
                    what = what.rstrip(")")
                what = what.rstrip(".") or "a placeholder"
                found.append(f"{path.relative_to(a.root)}:{i}: {what}")
    return found
