"""Time ``grader similarity`` on a generated class of one assignment.

    .venv/bin/python benchmarks/similarity.py                  # 1000 students of mfdnn-hw5
    .venv/bin/python benchmarks/similarity.py -n 200 --assignment mfdnn-hw7 --keep /tmp/class

Each student gets the assignment's template with every ``raise NotImplementedError`` replaced
by code of their own: 6 to 20 statements drawn at random from a small grammar of the kind of
code homework has (loops, tensor calls, arithmetic, appends), with names of their own, so that
students share the usual fragments by chance as real classes do. ``--copies`` of them (default
5) are disguised copies of another student: every name changed, comments added, each file's
functions in another order, a dead branch inserted. The command is timed end to end (intake,
reading, scoring, the pages), as an instructor runs it, and the planted pairs' ranks printed.
Goal: 1,000 students in under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORDS = ["x", "y", "z", "w", "out", "acc", "total", "grad", "val", "tmp", "res", "buf", "step", "loss", "h", "g",
         "prev", "cur", "nxt", "scale", "theta", "vel", "mom", "delta", "err", "k", "i", "j", "n", "m"]
FUNCS = ["torch.zeros_like", "torch.ones_like", "torch.relu", "torch.sigmoid", "torch.exp", "torch.log1p", "torch.sqrt",
         "torch.abs", "torch.tanh", "torch.clone", "torch.sign", "torch.square", "torch.cumsum", "torch.flatten",
         "torch.nn.functional.relu", "torch.nn.functional.softmax", "torch.nn.functional.log_softmax", "torch.softmax",
         "torch.diag", "torch.trace", "torch.outer", "torch.norm", "torch.linalg.norm", "torch.clamp", "torch.erf",
         "torch.atan", "torch.log", "torch.floor", "torch.round", "torch.argmax", "torch.argmin", "torch.numel"]
METHODS = ["sum", "mean", "clone", "detach", "float", "t", "flatten", "abs", "max", "min", "item", "double", "exp",
           "relu", "sqrt", "norm", "numel", "std", "var", "prod", "cumsum", "argmax", "squeeze", "unsqueeze"]
OPS = ["+", "-", "*", "/"]


def _name(rng: random.Random, style: int) -> str:
    base = rng.choice(WORDS)
    return [base, base + "_" + rng.choice(WORDS), base + str(rng.randint(0, 9)), base.upper()][style]


def _expr(rng: random.Random, names: list[str]) -> str:
    kind = rng.randrange(6)
    a, b = rng.choice(names), rng.choice(names)
    if kind == 0:
        return f"{a} {rng.choice(OPS)} {b}"
    if kind == 1:
        return f"{rng.choice(FUNCS)}({a})"
    if kind == 2:
        return f"{a}.{rng.choice(METHODS)}({rng.choice(['', '', 'dim=0', 'dim=-1', str(rng.randint(0, 3))])})"
    if kind == 3:
        return f"{a} {rng.choice(OPS)} {rng.choice(['0.5', '2', '1e-3', '3', '0.9', '1', str(round(rng.random(), 3)), str(rng.randint(2, 99))])}"
    if kind == 4:
        return f"({a} {rng.choice(OPS)} {b}) {rng.choice(OPS)} {rng.choice(names)}"
    return f"{rng.choice(FUNCS)}({a} {rng.choice(OPS)} {b})"


def _body(rng: random.Random, params: list[str], style: int, indent: str = "    ") -> list[str]:
    names = list(params) or ["None"]
    lines: list[str] = []
    for _ in range(rng.randint(6, 20)):
        kind = rng.randrange(5)
        if kind <= 1 or len(names) < 2:
            v = _name(rng, style)
            lines.append(f"{indent}{v} = {_expr(rng, names)}")
            names.append(v)
        elif kind == 2:
            i = _name(rng, style)
            lines.append(f"{indent}for {i} in range({rng.randint(2, 9)}):")
            inner = names + [i]
            for _ in range(rng.randint(1, 3)):
                lines.append(f"{indent}    {rng.choice(names)} = {_expr(rng, inner)}")
        elif kind == 3:
            lines.append(f"{indent}if {rng.choice(names)} is not None:")
            lines.append(f"{indent}    {rng.choice(names)} = {_expr(rng, names)}")
        else:
            v = _name(rng, style)
            lines.append(f"{indent}{v} = []")
            lines.append(f"{indent}{v}.append({_expr(rng, names)})")
            names.append(v)
    lines.append(f"{indent}return {rng.choice(names[len(params):] or names)}")
    return lines


def _student(template: str, rng: random.Random) -> str:
    """The template with each stub's body replaced by the student's own code."""
    tree = ast.parse(template)
    lines = template.split("\n")
    style = rng.randrange(4)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in node.body:
                if isinstance(stmt, ast.Raise) and "NotImplementedError" in ast.unparse(stmt):
                    params = [a.arg for a in node.args.args if a.arg != "self"]
                    edits.append((stmt.lineno, stmt.end_lineno or stmt.lineno, " " * stmt.col_offset, params))
    for first, last, indent, params in sorted(edits, reverse=True):
        lines[first - 1:last] = _body(rng, params, style, indent)
    return "\n".join(lines)


def _disguise(code: str, rng: random.Random) -> str:
    """Every generated name changed, a comment on each function, the top-level functions in
    another order, a dead branch inserted."""
    renames = {w: f"my_{w}_{rng.randint(10, 99)}" for w in WORDS}
    code = re.sub(r"\b(" + "|".join(map(re.escape, sorted(WORDS, key=len, reverse=True))) + r")(?=[_0-9A-Z]*\b)",
                  lambda m: renames[m.group(1)], code)
    tree = ast.parse(code)
    lines = code.split("\n")
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(funcs) >= 2:
        chunks = ["\n".join(lines[(f.decorator_list[0].lineno if f.decorator_list else f.lineno) - 1:f.end_lineno]) for f in funcs]
        start = (funcs[0].decorator_list[0].lineno if funcs[0].decorator_list else funcs[0].lineno) - 1
        head, tail = lines[:start], lines[funcs[-1].end_lineno or 0:]
        rng.shuffle(chunks)
        code = "\n".join(head) + "\n" + "\n\n\n".join("# my own version\n" + c for c in chunks) + "\n" + "\n".join(tail)
    return code.replace("\n    return ", "\n    if False:\n        print('never')\n    return ", 1)


def make_class(assignment: str, n: int, copies: int, folder: Path, seed: int) -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    from grader._course.layout import Course

    a = Course.locate(ROOT).assignment(assignment)
    templates = {p.file: (a.template_dir / p.file).read_text() for p in a.rubric.problems if p.file.endswith(".py")}
    rng = random.Random(seed)
    planted = []
    for i in range(n):
        d = folder / f"student{i:04d}"
        d.mkdir(parents=True)
        if i >= n - copies:
            original = folder / f"student{rng.randrange(n - copies):04d}"
            planted.append((original.name, d.name))
            for name in templates:
                (d / name).write_text(_disguise((original / name).read_text(), rng))
        else:
            for name, text in templates.items():
                (d / name).write_text(_student(text, rng))
    return planted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="students (default 1000)")
    ap.add_argument("--assignment", default="mfdnn-hw5")
    ap.add_argument("--copies", type=int, default=5, help="disguised copies planted (default 5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="write the class and the report here and keep them")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    try:
        subs, out = work / "submissions", work / "report"
        planted = make_class(args.assignment, args.n, args.copies, subs, args.seed)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "grader", "similarity", args.assignment, str(subs), "--out", str(out)],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        spent = time.perf_counter() - start
        if proc.returncode:
            sys.exit(f"grader similarity failed ({proc.returncode}):\n{proc.stderr}")
        report = json.loads((out / "similarity.json").read_text())
        ranks = {frozenset((p["a"], p["b"])): (i, p["score"]) for i, p in enumerate(report["pairs"], start=1)}
        print(f"{args.n} students of {args.assignment}: grader similarity took {spent:.1f} s "
              f"({len(report['pairs'])} pairs at or above {report['floor']}; {os.cpu_count()} cores)")
        for a, b in planted:
            rank, score = ranks.get(frozenset((a, b)), (None, 0.0))
            print(f"  planted {a} -> {b}: rank {rank if rank else 'not reported'}, score {score:.2f}")
        independent = [p["score"] for p in report["pairs"] if frozenset((p["a"], p["b"])) not in {frozenset(x) for x in planted}]
        print(f"  strongest independent pair: {max(independent, default=0.0):.2f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
