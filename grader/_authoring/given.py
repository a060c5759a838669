"""``grader validate``: the template's given code is the reference's.

Where a reference marks its solutions (grader._course.solutions), every line of code of it
outside them is given code (signatures, docstrings, constants, helpers), and the template
must hold exactly that, with anything where a solution was: the checks import the given code
from the template, and validate grades the reference, so code that differs between the two
means the reference was validated against code students do not get. A difference of code is
an error; comments and blank lines are not compared (a template may add hints, a reference
notes to the course's staff). A template file that holds solution markers is an error too
(`grader release` refuses it). A reference without markers says nothing of what is given:
its template is not compared.
"""

from __future__ import annotations

from pathlib import Path

from .._course.layout import Assignment
from .._course.solutions import derive, given_differences, marker_lines
from .._exceptions import ConfigError


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def template_agreement(a: Assignment) -> tuple[list[str], list[str]]:
    """(problems, notes) of the given code of each student file of ``a``: for a template
    derived from the reference's markers, that it is; for a template file beside a marked
    reference, whether its given code is the reference's (each difference with the file, the
    line and both texts)."""
    problems: list[str] = []
    notes: list[str] = []
    for f in dict.fromkeys(a.student_files):
        ref, own = a.reference_dir / f, a.template_dir / f
        ref_name, own_name = (str(p.relative_to(a.root)) for p in (ref, own))
        if own.is_file():
            problems += [f"{own_name}:{n}: a solution marker ({line[:60]!r}) in the template: students would get it "
                         "(`grader release` refuses it). Remove the template file to derive it from the reference, "
                         "or the marker" for n, line in marker_lines(_text(own))]
        if not ref.is_file():
            continue
        ref_text = _text(ref)
        try:
            derived = derive(ref_text, ref_name)
        except ConfigError as exc:  # (without a template file, the assignment did not load: said already)
            problems.append(f"{exc} (the template file {own_name} is used, but the markers must be right)")
            continue
        if derived is None:
            continue
        count = f"{len(derived.solutions)} marked solution{'s' if len(derived.solutions) != 1 else ''}"
        template, name = (_text(own), own_name) if own.is_file() else (derived.text, f"the template derived from {ref_name}")
        differences = given_differences(ref_text, template, reference_name=ref_name, template_name=name)
        if differences:
            problems.append(f"{name}: its given code is not the reference's ({ref_name} outside its {count}; comments "
                            "and blank lines are not compared):\n" + "\n".join(differences))
        elif own.is_file():
            notes.append(f"{own_name} agrees with what the solution markers of {ref_name} derive: the same given code "
                         f"({count}; the template file is used)")
        else:
            notes.append(f"{f}: the template is derived from {ref_name} ({count})")
    return problems, notes
