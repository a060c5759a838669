"""``grader release``: what students get, and nothing else.

A release is a folder a student works in::

    README.md            the template's README, with how to install the grader and self-check
    <the template's files>
    <X>.ipynb            with --notebooks: each student file X.py as a notebook too (_nbtemplate)
    .grader/             a course of its own, holding only what the public checks need:
      course.toml          (released = true)
      rubrics/<a>/rubric.toml       the visible tests only
      rubrics/<a>/test_<p>.py       the public checks' modules, as they are
      rubrics/<a>/drivers/          the worker-side drivers (they run next to student code anyway)
      student_template/<a>/         the given code the checks import
      hints/<a>.json       with ``hints`` (the CLI's default): what self-checks need to show the
                           hints of known mistakes marked for students, and no mistake's code
                           (grader/_grading/released_hints.py says what it holds and why)
    dl_grader-<version>-py3-none-any.whl   the grader, unless the course names its own install command

Hidden checks live in rubrics/<a>/hidden/ (the rubric's loading enforces it), so they are
never copied; nor are reference/, the known mistakes (mistakes.toml, mistakes/) or anything
else of the rubric's folder. Before the release is put in place, every file in it is
searched for each hidden check's name, for each line of the reference solutions that the
template does not have, and for solution markers (``# BEGIN SOLUTION``: a template derived
from a marked reference has none): a hit stops the release and names the file and line. A notebook is
searched both as its bytes and as its cells' text (in its JSON, each line is a quoted string).
The grader's own wheel is the grader's words, the same for every course: it must hold the
grader's package byte for byte as it runs here (those files are not searched: its docs may
name any check) and nothing else; any other member is refused, and searched like any file.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .._course.layout import MARKER, RELEASED_DIR, Assignment, Course, toml_value
from .._course.solutions import marker_lines
from .._exceptions import ConfigError
from .scaffold import todos
from .wheel import build_wheel, grader_wheel as _grader_wheel, installed_from_git


@dataclass(frozen=True)
class Release:
    out: Path
    files: list[str]  # relative to ``out``
    wheel: str | None  # the grader's wheel in the release, or None (the course's own install command)
    install: str  # what the README tells students to run
    hints: str | None = None  # the hints file in the release (relative to ``out``), or None


# ------------------------------------------------------------------ TOML --


def released_rubric(a: Assignment) -> str:
    """The rubric a release carries: its visible tests only (hidden ones are not named at
    all), each problem's points those of its visible tests; every other field as the rubric
    has it (a by-hand problem's allow-list too: its public check needs it). Written with
    tomli-w, so any string (a control character, a quote) is valid TOML."""
    import tomli_w

    r = a.rubric
    doc: dict[str, Any] = r.model_dump(exclude={"problems"}, exclude_defaults=True)
    doc["problems"] = []
    for p in r.problems:
        visible = [t for t in p.tests if t.visibility == "visible"]
        if not visible:
            continue
        fields = p.model_dump(exclude={"tests"}, exclude_defaults=True)
        fields["points"] = sum(t.points for t in visible)
        fields["tests"] = [t.model_dump(exclude_defaults=True) for t in visible]
        doc["problems"].append(fields)
    header = "# Released with `grader release`: the public checks only (the hidden ones are graded after the deadline).\n"
    return header + tomli_w.dumps(doc)


# ------------------------------------------------------------------ leak --


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped text, without an inline comment) of the lines that hold code of
    their own: not blank, a comment, an import, a docstring's quotes or a short ``else:``."""
    return [(i, s) for i, line in enumerate(text.splitlines(), 1)
            if len(s := line.split("  #", 1)[0].strip()) >= 8 and not s.startswith(("#", "import ", "from ", '"""', "'''"))]


def _secrets(a: Assignment) -> tuple[list[tuple[str, str]], dict[tuple[str, str, str], str]]:
    """What must appear in no released file: each hidden check's name (anywhere), and each
    three consecutive lines of code of a reference solution that its template does not have
    (the solution; three, so that a line or two a check also needs, a
    ``model.train(was_training)`` or a loop over ``named_modules()``, are not taken for a copy
    of it)."""
    names = [(f"the hidden check {t.name}", t.name) for p in a.rubric.problems for t in p.tests if t.visibility != "visible"]
    pairs: dict[tuple[str, str, str], str] = {}
    for ref in sorted(a.reference_dir.rglob("*.py")) if a.reference_dir.is_dir() else []:
        template = a.template_file(ref.relative_to(a.reference_dir).as_posix())
        given = {s for _, s in _code_lines(template.read_text(encoding="utf-8", errors="replace"))} if template.is_file() else set()
        lines = [s for _, s in _code_lines(ref.read_text(encoding="utf-8", errors="replace"))]
        for run in zip(lines, lines[1:], lines[2:]):
            if not any(line in given for line in run):
                pairs[run] = f"lines of the reference {ref.relative_to(a.root)}"
    return names, pairs


def leaks(a: Assignment, folder: Path) -> list[str]:
    """Every place in ``folder`` (all its files, the wheels' members included) that holds a
    hidden check's name or three lines in a row of a reference solution.

    The grader's own wheel (``_grader_wheel``'s name, at the top of ``folder``) holds the
    grader's words, the same for every course: its members that are byte for byte the grader
    as it runs here are not searched (its docs may name any check). Any other member of it,
    or one that differs from the grader's, is reported as not the grader's own, and searched
    like any file, so that a course's file put into the wheel is still found."""
    names, pairs = _secrets(a)
    found = []

    def scan(where: str, data: bytes, *, with_names: bool = True, markers: bool = True) -> None:
        text = data.decode("utf-8", errors="replace")
        for what, s in names if with_names else []:
            i = text.find(s)
            if i >= 0:
                found.append(f"{where}:{text.count(chr(10), 0, i) + 1}: {what} ({s[:60]!r})")
        lines = _code_lines(text)
        for (n, one), (_, two), (_, three) in zip(lines, lines[1:], lines[2:]):
            if (one, two, three) in pairs:
                found.append(f"{where}:{n}: {pairs[(one, two, three)]} ({one[:60]!r})")
        found.extend(f"{where}:{n}: a solution marker ({line[:60]!r}): markers never reach students (a template file "
                     "that has them is the reference's copy; remove it and the template is derived from the reference)"
                     for n, line in (marker_lines(text) if markers else []))

    own: tuple[str, dict[str, bytes]] | None = None
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".whl":
            if own is None:
                name, files = _grader_wheel()
                own = (name, dict(files))
            grader = own[1] if rel == own[0] else None
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    data = z.read(member)
                    if grader is not None:
                        if grader.get(member) == data:
                            continue  # the grader's own file, as it runs here: no course's secret
                        found.append(f"{rel}!{member}: not the grader's own file "
                                     + (f"(it differs from {member} of the grader that runs here)" if member in grader else
                                        "(the grader has no such file: the grader's wheel holds the grader's package and "
                                        "its dist-info, nothing of the course)"))
                    # (the grader's own dist-info holds its README, which may show the markers)
                    scan(f"{rel}!{member}", data, markers=grader is None)
        else:
            scan(rel, path.read_bytes())
            if path.suffix == ".ipynb":
                # In the file, each line of a cell is a JSON string ("    return x\n",): searched
                # as the cells' text as well, so that a reference's lines are found there too.
                scan(f"{rel} (its cells' text)", _notebook_text(path.read_bytes()).encode(), with_names=False)
    return found


def _notebook_text(data: bytes) -> str:
    """The sources of a notebook's cells, one after another (and its outputs' text): what a
    person sees of it. Empty when it is not a notebook's JSON (its bytes are searched anyway)."""
    try:
        nb = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError:
        return ""

    def text(v: Any) -> str:
        return "".join(x for x in v if isinstance(x, str)) if isinstance(v, list) else v if isinstance(v, str) else ""

    parts = []
    for cell in nb.get("cells", []) if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else []:
        if not isinstance(cell, dict):
            continue
        parts.append(text(cell.get("source")))
        for output in cell.get("outputs", []) if isinstance(cell.get("outputs"), list) else []:
            if isinstance(output, dict):
                parts.append(text(output.get("text")))
                data_ = output.get("data")
                if isinstance(data_, dict):
                    parts += [text(v) for v in data_.values()]
    return "\n".join(p.rstrip("\n") for p in parts if p) + "\n"


# --------------------------------------------------------------- release --


_README = """

---

## Checking your work with the grader

This folder is ready for the course's grader, which runs the **public** checks of this
assignment on your files ({files}) and writes `feedback.html` beside them. The hidden checks
are graded after the deadline, on the grading machine.

1. Install the grader once (Python 3.11 or newer; no GPU needed). Without a GPU, install
   PyTorch's CPU build first, if you do not have PyTorch (about 200 MB; on Linux the
   default is the CUDA build, several GB):

       pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu

   then the grader:

       {install}

2. In this folder, as often as you like:

       grader check {assignment}

   `grader check {assignment} --problem ID` checks one problem ({problems}). The points it
   shows are those of the public checks only.

The folder `.grader/` holds the public checks; leave it where it is.
"""

_README_NOTEBOOKS = """
## Working in a notebook

Each file you hand in comes as a Jupyter notebook too, holding the same code:
{notebooks}. Work in whichever you like, and hand in, for each file, either the `.py` or
the `.ipynb`: the grader takes `X.ipynb` in place of `X.py`. It also takes one notebook for
the whole assignment. Self-check a notebook with

    grader check {assignment} {example}

(save it first: Ctrl+S, or File > Save), or run the Self-check cell at its end.
"""


def _write_notebooks(a: Assignment, staging: Path) -> list[str]:
    """Write ``X.ipynb`` beside each student file ``X.py`` of ``a`` in ``staging`` (the
    template's README section on the file as its problem text); the notebooks' names."""
    import nbformat

    from .._notebooks.template import readme_section, template_notebook

    readme = a.template_dir / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    written = []
    for name in dict.fromkeys(a.student_files):
        source = a.template_file(name)
        if not name.endswith(".py") or not source.is_file():
            continue
        section = readme_section(text, name) or (readme_section(text, Path(name).name) if "/" in name else None)
        try:
            nb = template_notebook(source.read_text(encoding="utf-8"), file_name=Path(name).name,
                                   assignment=a.id, readme_section=section)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
        target = staging / Path(name).with_suffix(".ipynb")
        if target.exists():
            raise ConfigError(f"{a.template_dir / Path(name).with_suffix('.ipynb')} exists: the template has its own "
                              f"notebook for {name}; release without notebooks, or remove it")
        target.write_text(nbformat.writes(nb), encoding="utf-8")
        written.append(Path(name).with_suffix(".ipynb").as_posix())
    return written


def _copy_template(a: Assignment, to: Path) -> None:
    """The template as students get it, into ``to``: student_template/<assignment>/, and each
    student file derived from the reference's solution markers where it has no file there
    (the derived text only: no marker, no solution)."""
    to.mkdir(parents=True, exist_ok=True)
    if a.template_dir.is_dir():
        shutil.copytree(a.template_dir, to, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name, path in a.derived_templates().items():
        (to / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, to / name)


def release(assignment: str, out: Path, *, course: Course | None = None, wheel: bool = True, force: bool = False,
            notebooks: bool = False, hints: Callable[[Assignment], str] | None = None) -> Release:
    """Write what students get for ``assignment`` into ``out`` (see the module's docstring).

    With ``notebooks``, each student file ``X.py`` comes as ``X.ipynb`` too (``_nbtemplate``),
    and the README says students may hand in either. ``hints``: the text of the release's
    hints file for the assignment (the grading layer's ``record_hints``; this layer grades
    nothing), searched for leaks like every file of the release."""
    course = course or Course.locate()
    a = course.assignment(assignment)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise ConfigError(f"{out} exists and is not empty: give a new folder, or --force to replace it")
    if out.resolve() == course.root.resolve() or course.root.resolve() in out.resolve().parents and \
            any(part in ("rubrics", "reference", "student_template") for part in out.resolve().relative_to(course.root.resolve()).parts):
        raise ConfigError(f"{out}: a release goes outside the course's rubrics/, reference/ and student_template/")
    if left := todos(a):
        raise ConfigError(f"{a.id} still has {len(left)} placeholder(s) of `grader new` (the first: {left[0]}); "
                          f"`grader validate {a.id}` lists them: write them before releasing")
    install = course.install
    out.resolve().parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=out.resolve().parent if out.resolve().parent.is_dir() else None))
    try:
        _copy_template(a, staging)
        inner = staging / RELEASED_DIR
        (inner / "rubrics" / a.id).mkdir(parents=True)
        (inner / MARKER).write_text(
            f"# A released course: the public checks of {a.id} only (`grader release`).\n"
            f"title = {toml_value(course.title)}\nreleased = true\n" + (f"install = {toml_value(install)}\n" if install else ""),
            encoding="utf-8")
        (inner / "rubrics" / a.id / "rubric.toml").write_text(released_rubric(a), encoding="utf-8")
        for p in a.rubric.problems:
            if any(t.visibility == "visible" for t in p.tests):
                shutil.copyfile(a.test_module(p), inner / "rubrics" / a.id / a.test_module(p).name)
                if a.has_driver(p):
                    (inner / "rubrics" / a.id / "drivers").mkdir(exist_ok=True)
                    shutil.copyfile(a.driver(p), inner / "rubrics" / a.id / "drivers" / a.driver(p).name)
        _copy_template(a, inner / "student_template" / a.id)
        hints_file = None
        if hints is not None:
            hints_file = f"{RELEASED_DIR}/hints/{a.id}.json"
            (staging / hints_file).parent.mkdir(parents=True)
            (staging / hints_file).write_text(hints(a), encoding="utf-8")
        written = _write_notebooks(a, staging) if notebooks else []
        wheel_name = None
        if install is None:
            if wheel:
                wheel_name = build_wheel(staging).name
                install = f"pip install ./{wheel_name}"
            else:  # (the grader is on no package index: "pip install dl-grader" would find nothing)
                git = installed_from_git()
                install = f"pip install '{git}'" if git else \
                    f"pip install PATH/TO/{_grader_wheel()[0]}   (the grader's wheel: your course says where it is; the grader is on no package index)"
        readme = staging / "README.md"
        head = readme.read_text(encoding="utf-8") if readme.is_file() else f"# {a.rubric.title}\n"
        visible = [p for p in a.rubric.problems if any(t.visibility == "visible" for t in p.tests)]
        readme.write_text(head.rstrip("\n") + "\n" + _README.format(
            install=install, assignment=a.id, files=", ".join(f"`{p.file}`" for p in visible),
            problems=", ".join(p.id for p in visible)) + (_README_NOTEBOOKS.format(
            notebooks=", ".join(f"`{n}`" for n in written), assignment=a.id, example=written[0]) if written else ""),
            encoding="utf-8")
        found = leaks(a, staging)
        if found:
            raise ConfigError("the release would give students what is hidden; nothing was written:\n  " + "\n  ".join(found[:20]))
        # The released course must load as a course (its rubric matches its checks' modules).
        released = Course.locate(inner)
        released.assignment(a.id)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    return Release(out=out, files=files, wheel=wheel_name, install=install, hints=hints_file)
