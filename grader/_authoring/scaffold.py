"""``grader new``: a course, an assignment or a problem, scaffolded so that ``grader validate``
runs at once and says what is still to write.

Every file it writes is complete and runs: the placeholders (a function that doubles its
input, a network that is one ``nn.Linear``) agree between reference, checks and known
mistakes, so validate grades them for real. Each placeholder carries the marker
``TODO(grader new)``; ``grader validate`` lists every line that still has one and fails
until none is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._course.layout import MARKER, Assignment, Course, toml_value
from .._exceptions import ConfigError

TODO = "TODO(grader new)"
Kind = Literal["function", "module"]


@dataclass(frozen=True)
class Scaffold:
    root: Path
    written: list[Path]  # the files made (or added to)


def _write(path: Path, text: str, written: list[Path]) -> None:
    if path.exists():
        raise ConfigError(f"{path} exists already: `grader new` never overwrites a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    written.append(path)


# ---------------------------------------------------------------- course --


def new_course(root: Path, title: str | None = None) -> Scaffold:
    root = Path(root)
    if (root / MARKER).exists():
        raise ConfigError(f"{root / MARKER} exists: {root} is a course already")
    written: list[Path] = []
    title = title or root.resolve().name
    _write(root / MARKER, f"""# This folder is a course for the grader (`grader new course`): rubrics/, reference/ and
# student_template/ hold its assignments, one folder each. `grader` finds the course from
# this folder or any folder below it; elsewhere, name it with --course DIR or $GRADER_COURSE.
title = {toml_value(title)}
# install = "pip install dl-grader"   # what a release tells students to run (default: a wheel in the release)
""", written)
    for folder in ("rubrics", "reference", "student_template"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    _write(root / ".gitignore", "__pycache__/\nout/\nfeedback.html\nrelease/\n", written)
    _write(root / "README.md", f"""# {title}

Course material for the grader. One assignment is three folders of the same name:

- `rubrics/<assignment>/`: `rubric.toml` (problems, tests, points, visibility), the public
  checks `test_<problem>.py`, the hidden checks `hidden/test_<problem>.py`, drivers for
  problems that need one (`drivers/<problem>.py`), known mistakes (`mistakes.toml`);
- `reference/<assignment>/`: the solutions (never released);
- `student_template/<assignment>/`: what students start from, with its `README.md`.

    grader new assignment hw1 --problem first      # an assignment with its first problem
    grader new problem hw1 second --kind module    # another problem (an nn.Module)
    grader validate hw1                            # reference full marks, template zero, mistakes caught
    grader release hw1 --out release/hw1           # what students get: public checks only
    grader grade hw1 SUBMISSIONS --out out/hw1     # grade a class
""", written)
    return Scaffold(root, written)


# ------------------------------------------------------------ assignment --


def new_assignment(course: Course, assignment: str, problem: str, *, title: str | None = None,
                   kind: Kind = "function") -> Scaffold:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", assignment):
        raise ConfigError(f"{assignment!r}: an assignment id is lower-case letters, digits and '-' (e.g. hw1)")
    a = Assignment(assignment, course.root)
    if a.rubric_dir.exists():
        raise ConfigError(f"{a.rubric_dir} exists: add a problem with `grader new problem {assignment} ID`")
    written: list[Path] = []
    _write(a.rubric_dir / "rubric.toml", f"""# {assignment}: problems, their tests, points and visibility live here and only here.
# Each problem's public checks are test_<problem>.py beside this file; its hidden ones
# hidden/test_<problem>.py (never released); worker-side code, when a problem needs it,
# drivers/<problem>.py. Every field: docs/rubric.md of the grader.
assignment = {toml_value(assignment)}
title = {toml_value(title or f"{assignment} ({TODO}: the assignment's title)")}
""", written)
    _write(a.rubric_dir / "mistakes.toml", f"""# Known mistakes of {assignment}: `grader validate` grades each one and fails unless it fails
# exactly the checks it names, and unless every check is failed by some mistake.
# A mistake is exact edits of the reference file ([[mistake.edit]] old/new), or a whole
# file (source = "<folder>/<file>" under mistakes/ beside this file).
""", written)
    _write(a.template_dir / "README.md", f"""# {title or assignment}

{TODO}: the assignment, as students read it.

## Files

""", written)
    scaffold = new_problem(course, assignment, problem, kind=kind, _assignment=a)
    return Scaffold(course.root, written + scaffold.written)


# --------------------------------------------------------------- problem --


def new_problem(course: Course, assignment: str, problem: str, *, kind: Kind = "function", title: str | None = None,
                _assignment: Assignment | None = None) -> Scaffold:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", problem):
        raise ConfigError(f"{problem!r}: a problem id is a Python name in lower case (e.g. softmax), the student's file is <id>.py")
    a = _assignment or course.assignment(assignment)
    rubric = a.rubric_dir / "rubric.toml"
    if not rubric.is_file():
        raise ConfigError(f"no assignment {assignment!r} in {course.root / 'rubrics'}: `grader new assignment {assignment} --problem {problem}`")
    if _assignment is None and problem in {p.id for p in a.rubric.problems}:
        raise ConfigError(f"{assignment} has a problem {problem!r} already")
    written: list[Path] = []
    make = _function_problem if kind == "function" else _module_problem
    files = make(assignment, problem)
    for rel, text in files.items():
        _write(course.root / rel.format(a=assignment, p=problem), text, written)
    public, second, hidden = (f"test_{problem}_small", f"test_{problem}_form", f"test_{problem}_hidden") \
        if kind == "function" else (f"test_{problem}_outputs", f"test_{problem}_parameters", f"test_{problem}_hidden_sizes")
    title = title or f"{problem} ({TODO}: its title)"
    entry = f"""
[[problems]]
id = "{problem}"
title = {toml_value(title)}
file = "{problem}.py"
points = 10

[[problems.tests]]
name = "{public}"
title = "{TODO}: what {public} checks, as the student reads it"
points = 5
timeout = 30

[[problems.tests]]
name = "{second}"
title = "{TODO}: what {second} checks, as the student reads it"
points = 1
timeout = 30

[[problems.tests]]
name = "{hidden}"
title = "{TODO}: what {hidden} checks (graded after the deadline)"
points = 4
visibility = "hidden"
timeout = 30
"""
    with rubric.open("a", encoding="utf-8") as f:
        f.write(entry)
    written.append(rubric)
    mistake = _FUNCTION_MISTAKE if kind == "function" else _MODULE_MISTAKE
    with (a.rubric_dir / "mistakes.toml").open("a", encoding="utf-8") as f:
        f.write(mistake.format(p=problem, public=public, second=second, hidden=hidden, todo=TODO))
    written.append(a.rubric_dir / "mistakes.toml")
    readme = a.template_dir / "README.md"
    if readme.is_file():
        with readme.open("a", encoding="utf-8") as f:
            f.write(f"- `{problem}.py`: {TODO}: what to write in it.\n")
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


# ------------------------------------------------------- function problem --


def _function_problem(assignment: str, p: str) -> dict[str, str]:
    return {
        "student_template/{a}/{p}.py": f'''"""{p}: write the function below ({TODO}: what the homework asks, in a sentence)."""

import torch


def {p}(x: torch.Tensor) -> torch.Tensor:
    """{TODO}: what {p} returns, for x of shape (n, d)."""
    raise NotImplementedError("{p}")
''',
        "reference/{a}/{p}.py": f'''"""{p}: the reference solution (never released to students)."""

import torch


def {p}(x: torch.Tensor) -> torch.Tensor:
    return 2 * x  # {TODO}: the solution (this placeholder doubles x, as the checks' oracle does)
''',
        "rubrics/{a}/test_{p}.py": f'''"""Public checks of `{p}` ({assignment}): released to students by `grader release`.

The student's function is called by name in the worker, with plain arguments, and its
answer comes back as plain data (no driver needed): `submission.function("{p}")`.
The expected value is computed here, on the trusted side, from the problem itself (never
from the reference solution, which is not released).
"""

from __future__ import annotations

import torch

from grader.checks import Tolerance, as_shaped, close, that
from grader.fixtures import Generator, Submission


def oracle(x: torch.Tensor) -> torch.Tensor:
    """What {p}(x) must return."""
    return 2 * x  # {TODO}: the oracle (an independent computation of the right answer)


def matches(submission: Submission, x: torch.Tensor, inputs: str) -> None:
    """{p}(x) of the student against the oracle, on ``x`` (``inputs`` says which, for the
    student): the values, whatever shape and dtype they came in (the form test grades those,
    so that one slip of form costs one small test, not every test)."""
    expected = oracle(x)
    got = as_shaped([submission.function("{p}", context=inputs)(x)], [expected])[0]
    close(got, expected, what=f"{p}(x) {{inputs}}", tol=Tolerance.default(x.dtype), check_dtype=False)


def test_{p}_small(submission: Submission, generator: Generator) -> None:
    gen = generator()
    x = torch.randn(4, 3, generator=gen)  # {TODO}: the inputs students see
    matches(submission, x, "on a 4x3 input")


def test_{p}_form(submission: Submission, generator: Generator) -> None:
    """The form: a tensor of the expected shape, in the input's dtype (the values are graded above)."""
    x = torch.randn(4, 3, generator=generator())
    got = submission.function("{p}", context="on a 4x3 float32 input")(x)
    that(isinstance(got, torch.Tensor), f"{p}(x) should return a tensor, got {{type(got).__name__}}")
    expected = oracle(x)
    that(tuple(got.shape) == tuple(expected.shape) and got.dtype == x.dtype,
         f"{p}(x) for x of shape (4, 3), float32, returned shape {{tuple(got.shape)}}, {{got.dtype}}; "
         f"expected shape {{tuple(expected.shape)}}, {{x.dtype}}")
''',
        "rubrics/{a}/hidden/test_{p}.py": f'''"""Hidden checks of `{p}` ({assignment}): never released (`grader release` leaves hidden/ out)."""

from __future__ import annotations

import torch

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)  # the public checks' module: its helpers, by attribute


def test_{p}_hidden(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for n, d in [(1, 1), (64, 17)]:  # {TODO}: the inputs students do not see
        public.matches(submission, torch.randn(n, d, generator=gen, dtype=torch.float64), f"on a {{n}}x{{d}} float64 input")
''',
    }


_FUNCTION_MISTAKE = '''
[[mistake]]
id = "{p}_off_by_one"
problem = "{p}"
what = "{todo}: a mistake students make, and the checks it must fail"
fails = ["{public}", "{hidden}"]
[[mistake.edit]]
old = "    return 2 * x"
new = "    return 2 * x + 1"

[[mistake]]
id = "{p}_float64"
problem = "{p}"
what = "{todo}: right values in the wrong form (here: float64 for a float32 input)"
fails = ["{second}"]
[[mistake.edit]]
old = "    return 2 * x"
new = "    return (2 * x).double()"
'''


# --------------------------------------------------------- module problem --


def _module_problem(assignment: str, p: str) -> dict[str, str]:
    return {
        "student_template/{a}/{p}.py": f'''"""{p}: write the network below ({TODO}: what the homework asks, in a sentence)."""

import torch
from torch import nn


class Model(nn.Module):
    """{TODO}: the network, from d_in features to d_out outputs."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        raise NotImplementedError("Model.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Model.forward")
''',
        "reference/{a}/{p}.py": f'''"""{p}: the reference solution (never released to students)."""

import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)  # {TODO}: the solution (this placeholder is one Linear layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)
''',
        "rubrics/{a}/drivers/{p}.py": f'''"""Worker-side driver of `{p}` ({assignment}): it runs next to the student's code, because an
nn.Module cannot cross to the trusted side; it reports plain values, never judges."""

from __future__ import annotations

from typing import Any

import torch

from grader.driver import WrongAnswer, plain


def build_and_run(student: Any, d_in: int, d_out: int, x: torch.Tensor, device: str,
                  state: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """Build the student's Model(d_in, d_out), load the check's weights ``state`` into it (when
    given: then its output can be compared with the oracle's on the same weights), run it on x.
    Reports the parameter count (before loading) and the output."""
    model = student.Model(d_in, d_out)
    if not isinstance(model, torch.nn.Module):
        raise WrongAnswer(f"Model({{d_in}}, {{d_out}}) should be an nn.Module, got {{type(model).__name__}}")
    model = model.to(device=device, dtype=x.dtype)
    parameters = sum(int(t.numel()) for t in model.parameters())
    if state is not None:
        have = {{k: tuple(v.shape) for k, v in model.state_dict().items()}}
        try:
            model.load_state_dict(state)  # strict: the same names and shapes
        except RuntimeError:
            want = {{k: tuple(v.shape) for k, v in state.items()}}
            raise WrongAnswer(f"Model({{d_in}}, {{d_out}}) cannot take the weights of the network the homework "
                              f"describes: expected {{want}}, your model's state_dict has {{have}}") from None
    model.eval()
    with torch.no_grad():
        out = model(x.to(device))
    return {{"parameters": parameters, "out": plain(out, f"Model({{d_in}}, {{d_out}})(x)")}}  # {TODO}: what else the checks need
''',
        "rubrics/{a}/test_{p}.py": f'''"""Public checks of `{p}` ({assignment}): released to students by `grader release`.

The network is built and run by the driver (drivers/{p}.py) in the worker; the checks
compare what it reports with the oracle's, here on the trusted side.
"""

from __future__ import annotations

import torch

from grader.checks import Tolerance, close, that
from grader.fixtures import Generator, Submission


class Oracle(torch.nn.Module):
    """The network the homework describes. Its state_dict's names are the ones the homework
    gives students (the check loads these weights into their model)."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(d_in, d_out)  # {TODO}: the oracle (the network the homework describes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def oracle(d_in: int, d_out: int, gen: torch.Generator, dtype: torch.dtype) -> torch.nn.Module:
    """The oracle's network with weights drawn from ``gen`` (the same ones are loaded into the
    student's model, so the two outputs must agree)."""
    net = Oracle(d_in, d_out)
    with torch.no_grad():
        for t in net.parameters():
            t.copy_(torch.randn(t.shape, generator=gen))
    return net.to(dtype)


def outputs(submission: Submission, gen: torch.Generator, d_in: int, d_out: int, dtype: torch.dtype = torch.float64,
            n: int = 8) -> None:
    """The student's network, with the oracle's weights, against the oracle on one batch."""
    net = oracle(d_in, d_out, gen, dtype)
    x = torch.randn(n, d_in, generator=gen, dtype=dtype)
    got = submission.call("build_and_run", d_in=d_in, d_out=d_out, x=x, state=net.state_dict(),
                          context=f"Model({{d_in}}, {{d_out}}) on a {{n}}x{{d_in}} {{str(dtype)[6:]}} input")
    with torch.no_grad():
        expected = net(x)
    close(got["out"], expected, what=f"Model({{d_in}}, {{d_out}})(x) with the oracle's weights",
          tol=Tolerance.default(dtype))


def parameters(submission: Submission, gen: torch.Generator, d_in: int, d_out: int) -> None:
    got = submission.call("build_and_run", d_in=d_in, d_out=d_out, x=torch.randn(2, d_in, generator=gen),
                          context=f"Model({{d_in}}, {{d_out}})")
    want = sum(t.numel() for t in oracle(d_in, d_out, gen, torch.float32).parameters())
    that(got["parameters"] == want, f"Model({{d_in}}, {{d_out}}) has {{got['parameters']:,}} parameters; expected {{want:,}}")


def test_{p}_outputs(submission: Submission, generator: Generator) -> None:
    outputs(submission, generator(), 5, 3)  # {TODO}: the sizes students see


def test_{p}_parameters(submission: Submission, generator: Generator) -> None:
    parameters(submission, generator(), 5, 3)
''',
        "rubrics/{a}/hidden/test_{p}.py": f'''"""Hidden checks of `{p}` ({assignment}): never released (`grader release` leaves hidden/ out)."""

from __future__ import annotations

from grader import public_checks
from grader.fixtures import Generator, Submission

public = public_checks(__file__)  # the public checks' module: its helpers, by attribute


def test_{p}_hidden_sizes(submission: Submission, generator: Generator) -> None:
    gen = generator()
    for d_in, d_out in [(1, 1), (64, 10)]:  # {TODO}: the sizes students do not see
        public.outputs(submission, gen, d_in, d_out)
        public.parameters(submission, gen, d_in, d_out)
''',
    }


_MODULE_MISTAKE = '''
[[mistake]]
id = "{p}_no_bias"
problem = "{p}"
what = "{todo}: a mistake students make, and the checks it must fail"
fails = ["{public}", "{second}", "{hidden}"]
[[mistake.edit]]
old = "nn.Linear(d_in, d_out)"
new = "nn.Linear(d_in, d_out, bias=False)"
'''
