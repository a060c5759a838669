"""Diagnosis: naming the known mistake whose answers a student's answers are.

While a batch is graded, the plugin keeps every comparison a check makes with ``close`` or
``close_all`` (``grader.checks.Observation``: what came, the tolerance, whether it matched),
per student, problem, test and order within the test. The known mistakes that carry a hint
(``rubrics/<assignment>/mistakes.toml``) are graded once per batch, at its head (claimed before
any student, by whichever job is free), by the same checks on the same inputs (the batch's
seed; every rubric input is drawn from it), and their comparisons kept the same way
(``Known``): in memory, and in a file per mistake that a parallel batch's other jobs read
(waiting, where a student ends before a mistake another job grades).

A student's problem is diagnosed with mistake M when M got at least one comparison wrong and,
on every comparison M got wrong, the student got it wrong too, with the same answer as M's
within that comparison's own tolerance. Matching is on behaviour: two mistakes that fail the
same tests are told apart by their numbers. A right answer matches every comparison, so it is
never diagnosed; a wrong answer no mistake reproduces is diagnosed with nothing. Where several
mistakes match and what one got wrong is a strict part of what another got wrong, only the
other is named (it explains more of the student's answers). A mistake whose run failed (a
crash, a timeout) got no comparison wrong, and so diagnoses nobody. A comparison whose answer
was too big to keep (``grader.checks.MAX_OBSERVED`` entries) is left out of the rule: the
mistake's other wrong comparisons decide, and there must be one. Timed rounds
(``speed_ratio``) are not kept: each draws its inputs anew. A hint marked for students is shown
to the student where the public tests' comparisons alone match the mistake, whatever the
hidden tests' answers: decided with them, its showing would tell what the hidden tests hold
(``diagnosis``, the instructor's, uses every test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._course.models import Hint

if TYPE_CHECKING:
    from ..checks import Observation

Key = tuple[str, int]  # (the rubric test's name, the comparison's order within that test)
Log = dict[Key, "Observation"]


@dataclass(frozen=True)
class Known:
    """A known mistake with a hint, and the comparisons its run made on the batch's inputs."""

    id: str
    problem: str
    hint: str
    shown: str  # "students" or "instructors"
    log: Log = field(default_factory=dict)
    runs_as: str = ""  # the name it is graded under, at the head of the batch (never a student's)

    @property
    def wrong(self) -> frozenset[Key]:
        """The comparisons it got wrong and whose answers were kept: those a student must get
        wrong the same way. (One too big to keep, a million samples' outputs, tells nothing
        either way: the mistake's other comparisons decide.)"""
        return frozenset(k for k, o in self.log.items() if not o.matched and _kept(o))

    def as_hint(self, to_students: bool = True) -> Hint:
        """Its hint, for the student's page where it is marked for students and ``to_students``
        (the caller's word that it matched on the public tests alone), else the instructor's."""
        return Hint(mistake=self.id, text=self.hint,
                    shown="students" if self.shown == "students" and to_students else "instructors")


def _kept(o: Observation) -> bool:
    if o.tol is None:  # an answer of ``that``: plain data, compared exactly
        return o.answer is not None
    return o.items is not None and all(t is not None for t in o.items)


def agree(student: Observation, mistake: Observation) -> bool:
    """Whether two answers to one comparison are the same, within the comparison's tolerance
    (scaled, where it is, to the mistake's answer), judged as the check judged them (its dtype
    conversions too: an answer the check read as another dtype's is read so here): same number
    of tensors, each of the same shape, every entry close; an answer that was not kept (not
    tensors, too big) agrees with nothing."""
    from ..checks import within

    if mistake.tol is None or student.tol is None:  # answers of ``that``: the same data, exactly
        return mistake.tol is None and student.tol is None and mistake.answer is not None and student.answer == mistake.answer
    if student.items is None or mistake.items is None or len(student.items) != len(mistake.items):
        return False
    for s, m in zip(student.items, mistake.items):
        if s is None or m is None:
            return False
        if not within(s, m, mistake.tol):  # (mistake.tol is not None here)
            return False
    return True


def matches(log: Log, mistake: Known) -> bool:
    wrong = mistake.wrong
    return bool(wrong) and all(
        (got := log.get(k)) is not None and not got.matched and agree(got, mistake.log[k]) for k in wrong)


def diagnose(log: Log, known: list[Known]) -> list[Known]:
    """The known mistakes (of this problem) that ``log``, a student's comparisons on it,
    matches; of two where one's wrong comparisons are a strict part of the other's, the other."""
    found = [m for m in known if matches(log, m)]
    return [m for m in found if not any(m.wrong < o.wrong for o in found)]


__all__ = ["Key", "Known", "Log", "agree", "diagnose", "matches"]
