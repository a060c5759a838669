"""Hints in a release (issue 31, point 4): a student's self-check names the known mistakes
marked for students, without the release carrying any mistake's code.

At ``grader release`` time (``api.record_hints``), each known mistake with a hint shown to
students is graded on the public checks only, by the path ``grader grade`` uses for the known
mistakes at a batch's head (``api.add_known_mistakes``), twice, with two seeds. Of the
comparisons it got wrong, only those whose answers are the same under both seeds are kept
(``kept``): their inputs do not depend on the seed (the homework's own example, a fixed
case), so they are public inputs whose expected values the public checks already show, and a
mistake's wrong answer to them tells a student nothing those checks do not. A mistake left
with no such comparison (every input of its checks is drawn from the seed) is not carried;
an instructors-only mistake never is.

The release carries them in ``.grader/hints/<assignment>.json`` (``dumps``): per mistake its
id, problem and hint, and each kept comparison's test, order within the test, answer (each
tensor as nested lists with its dtype and shape) and tolerance (a comparison of more than ``MAX_ENTRIES`` numbers is left out). ``grader check`` in a release
reads it (``read``) and diagnoses the student's problem with diagnosis.py's rule, on those
comparisons. A file that is absent or cannot be read gives no hints, and the self-check is
as it was.
"""

from __future__ import annotations

import json
import math
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnosis import Key, Known, Log

if TYPE_CHECKING:
    import torch

    from ..checks import Observation

log = logging.getLogger(__name__)

FOLDER = "hints"  # .grader/hints/<assignment>.json in a release
FORMAT = "dl-grader release hints"
VERSION = 1
MAX_ENTRIES = 20_000  # numbers one comparison may carry (a million-entry public input would make megabytes)
MAX_BYTES = 8 << 20  # a hints file larger than this is not read (no hints): a release never writes one


def path(course_root: Path, assignment: str) -> Path:
    """Where a release's course (its ``.grader/`` folder) keeps ``assignment``'s hints."""
    return course_root / FOLDER / f"{assignment}.json"


# ----------------------------------------------------------------- choose --


def _same(a: Observation, b: Observation) -> bool:
    """Whether two answers are the same, exactly (dtype, shape, every entry), with the same
    tolerance, and can be written as JSON (real tensors, all kept)."""
    import torch

    if a.items is None or b.items is None or len(a.items) != len(b.items) or a.tol != b.tol:
        return False
    if sum(x.numel() for x in a.items if x is not None) > MAX_ENTRIES:  # too big to carry: left out
        return False
    for x, y in zip(a.items, b.items):
        if x is None or y is None or x.is_complex() or x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x, y):
            return False
    return True


def kept(known: list[Known], first: dict[str, dict[str, Log]], second: dict[str, dict[str, Log]]) -> list[Known]:
    """The students-shown mistakes of ``known`` with what a release may carry of them: the
    comparisons each got wrong under both seeds with the same answer (``first`` and
    ``second``: a plan's ``observations`` after each run, name -> problem -> comparisons).
    A mistake left with none is dropped."""
    out = []
    for m in known:
        if m.shown != "students":
            continue
        one, two = first.get(m.runs_as, {}).get(m.problem, {}), second.get(m.runs_as, {}).get(m.problem, {})
        log_ = {k: o for k, o in one.items() if not o.matched and (p := two.get(k)) is not None and not p.matched and _same(o, p)}
        if log_:
            out.append(replace(m, log=log_, runs_as=f"released-mistake-{m.id}"))
    return out


# ------------------------------------------------------------------- JSON --


def _tensor(t: torch.Tensor) -> dict[str, Any]:
    return {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "values": t.tolist()}


_DTYPE_NAMES = ("bool", "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8")


def _untensor(d: Any) -> torch.Tensor:
    import torch

    _DTYPES = {getattr(torch, n) for n in _DTYPE_NAMES}
    dtype = getattr(torch, str(d["dtype"]), None)
    if not isinstance(dtype, torch.dtype) or dtype not in _DTYPES:  # (what a check compares: real numbers)
        raise ValueError(f"not a tensor's dtype: {d['dtype']!r}")
    shape = [int(n) for n in d["shape"]]
    return torch.tensor(d["values"], dtype=dtype).reshape(shape)


def dumps(assignment: str, known: list[Known]) -> str:
    """The release's hints file for ``assignment``: ``known`` as ``kept`` gives it."""
    mistakes = [{
        "id": m.id, "problem": m.problem, "hint": m.hint,
        "comparisons": [{
            "test": test, "order": order,
            "answer": [_tensor(t) for t in o.items or () if t is not None],
            "tolerance": {"rtol": o.tol.rtol, "atol": o.tol.atol, "of_largest": o.tol.of_largest, "why": o.tol.why},
        } for (test, order), o in sorted(m.log.items()) if o.tol is not None],  # (kept() keeps tensor answers only)
    } for m in known if m.shown == "students" and m.log]
    return json.dumps({"format": FORMAT, "version": VERSION, "assignment": assignment, "mistakes": mistakes}) + "\n"


def loads(text: str, assignment: str) -> list[Known]:
    """The mistakes of a hints file, each with its comparisons (all wrong answers); ValueError
    (or KeyError, TypeError) where the file is not one for ``assignment``."""
    from ..checks import Observation, Tolerance

    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise ValueError("not a hints file of this grader's version")
    if doc.get("assignment") != assignment:
        raise ValueError(f"the hints of {doc.get('assignment')!r}, not of {assignment!r}")
    out = []
    for m in doc["mistakes"]:
        log_: Log = {}
        for c in m["comparisons"]:
            t = c["tolerance"]
            tol = Tolerance(rtol=float(t["rtol"]), atol=float(t["atol"]), why=str(t["why"]), of_largest=float(t["of_largest"]))
            if not all(math.isfinite(x) and 0 <= x <= 1 for x in (tol.rtol, tol.of_largest)) or not math.isfinite(tol.atol) or tol.atol < 0:
                raise ValueError(f"not a tolerance: {t!r}")
            key: Key = (str(c["test"]), int(c["order"]))
            log_[key] = Observation(items=tuple(_untensor(a) for a in c["answer"]), tol=tol, matched=False)
        if log_:
            out.append(Known(str(m["id"]), str(m["problem"]), str(m["hint"]), "students", log=log_,
                             runs_as=f"released-mistake-{m['id']}"))
    return out


def read(course_root: Path, assignment: str) -> list[Known]:
    """The hints a release carries for ``assignment`` (none where it has no such file, or one
    that cannot be read: the self-check then goes on without hints, as before)."""
    where = path(course_root, assignment)
    if not where.is_file():
        return []
    try:
        if (size := where.stat().st_size) > MAX_BYTES:
            raise ValueError(f"{size} bytes, more than a release writes ({MAX_BYTES})")
        return loads(where.read_text(encoding="utf-8"), assignment)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RuntimeError, ArithmeticError, RecursionError) as exc:
        log.info("no hints in this self-check: %s could not be read (%s: %s)", where, type(exc).__name__, exc)
        return []


__all__ = ["FOLDER", "dumps", "kept", "loads", "path", "read"]
