"""Every error the grader raises on purpose.

    GraderError                      base: something the person running the grader must fix or know
    ├── ConfigError                  the course material is wrong: rubric, test module, reference missing
    ├── SubmissionError              a submission cannot be read (unsafe archive, not a folder)
    └── SandboxError                 the sandbox itself failed (cannot start a worker at all)
        ├── FreezeError              a worker could not be shown frozen: a timing check gives no verdict
        │   └── FreezeEscaped        ... because its own processes ran under SIGSTOP (on purpose: a check fails)
        └── FreezeBroken             another job's worker ran while this one was timed: timed again

    StudentFault                     base of what a student's code did; becomes a test outcome, never a crash
    ├── MissingFile                  the file a problem needs was not submitted      -> outcome "missing"
    ├── WorkerTimeout                the student's code ran out of time             -> outcome "timeout"
    ├── WorkerCrashed                the worker died: exit(), a signal, memory      -> outcome "error"
    ├── StudentError                 the student's code raised an exception          -> outcome "error"
    │   └── NotWritten               ... NotImplementedError from a template stub
    └── WrongAnswer                  the student's code returned something unusable  -> outcome "failed"

CheckFailed (an AssertionError) is what a comparison raises when the answer is wrong: outcome "failed".
"""

from __future__ import annotations


class GraderError(Exception):
    """Something the person running the grader must fix; the message says what and where."""


class ConfigError(GraderError):
    """The course material (rubric, tests, references, templates) is inconsistent."""


class SubmissionError(GraderError):
    """A submission cannot be taken in at all (e.g. an unsafe or corrupt archive)."""


class SandboxError(GraderError):
    """The sandbox could not start or talk to a worker for reasons that are not the student's."""


class FreezeError(SandboxError):
    """A worker could not be shown frozen while the other side of a timing check ran: the
    check gives no verdict (the message says what the instructor can do)."""


class FreezeEscaped(FreezeError):
    """A worker's own processes kept running under SIGSTOP, or ran while it was frozen
    (kernel timers sending SIGCONT, a process continuing another): never by accident. A
    student's worker that does so fails the timing check it was frozen for."""


def freeze_escaped(label: str, why: str) -> str:
    """What a timing check says when the student's own worker ran while it was frozen."""
    return (
        f"No timing can be taken: the code of {label} kept running while the grader had stopped it to time the other "
        f"side of this check ({why}). Processes that run on under SIGSTOP (a timer that sends SIGCONT, a process "
        "continuing another) are never there by accident: this check fails. Leave no process or timer running "
        "when your functions return."
    )


class FreezeBroken(SandboxError):
    """A worker of another job of the batch ran while this job's timing check ran (it has been
    stopped for good): what was timed meanwhile is not a timing, and is measured again."""


class DriverError(GraderError):
    """A problem's worker-side driver cannot serve a check (an authoring error of the course)."""


class StudentFault(Exception):
    """Something the student's code did; the message is written for the student."""

    outcome = "error"


class MissingFile(StudentFault):
    outcome = "missing"


class WorkerTimeout(StudentFault):
    outcome = "timeout"


class WorkerCrashed(StudentFault):
    outcome = "error"


class StudentError(StudentFault):
    outcome = "error"


class NotWritten(StudentError):
    """A stub of the template is still there: the message says what to write."""


class WrongAnswer(StudentFault):
    """The student's code gave something that cannot be taken as an answer (a list where a tensor
    is asked for, no value at all): the test fails (``failed``), and the message, written for the
    student, says what was given instead. A check raises it; a driver's ``WrongAnswer`` reaches
    the check as this."""

    outcome = "failed"


class CheckFailed(AssertionError):
    """A check found the student's answer wrong; the message explains by how much and why."""
