"""Which submissions look copied: code similarity across a class (``grader similarity``).

Why one module of about 500 lines: how a file is read, how a fingerprint is weighted, how a
score is made and what the page says a score means are one definition; split, the page's
"how to read a score" would live apart from the arithmetic it describes.

How a file is read: as Python tokens, with what a disguise changes taken out. Comments,
docstrings (a string that is a statement of its own), blank lines and formatting are dropped;
every name the file itself binds (its functions, classes, arguments, variables, attributes
it assigns, import aliases) becomes one token ``V``, so renaming changes nothing; every string
becomes ``S``. Names it does not bind (``torch``'s functions, builtins, methods it calls) and
numbers are kept: they are what a wrong answer is made of. The tokens are cut into k-grams,
hashed, and winnowed (Schleimer, Wilkerson and Aiken, SIGMOD 2003: the fingerprints of MOSS),
so a fingerprint does not depend on where in the file its code is: reordered functions and
inserted dead code leave the others as they were.

What counts: a fingerprint of the template's given code never does; nor does one that more
than half the class holds (the problem's unavoidable lines). A fingerprint two students share
counts ``1 / (m - 1)`` when ``m`` students of the class hold it: a piece only these two wrote
counts fully, one that three wrote counts half, one that 11 wrote a tenth. So short problems whose right answers all look alike
do not flag everyone, and a shared wrong answer (rare by nature) counts the most.

A pair's score is the higher of two shares of the smaller one's own fingerprints (its code less
the template's and the class's common lines; at least ``MIN_OWN``), summed over their files:

- rarity: what they share, each fingerprint weighted as above. 1.0 is "all of the smaller
  one's own code is in the other's, in pieces nobody else wrote";
- excess: the share they both hold, less the higher of each one's share with anyone else. A
  copy of plain-looking code (each line of it written by a few others too, but no third
  student with so much of it) scores here; students alike as a group (a tiny problem's one
  right answer, written by many) have none.

Speed: pairs are found through an inverted index (fingerprint -> students), so the cost grows
with what students share, not with the number of pairs; a fingerprint held by more than
``MAX_HOLDERS`` students (each pair's evidence from it under 1/MAX_HOLDERS) is not paired.
The pairs' sums are numpy's; reading the files (a regular-expression lexer that gives the
same tokens as the standard library's tokenize, five times faster) runs on every core.

Why not the kept library copydetect (0.5.0): importing any part of it imports its report
module, which needs matplotlib and tqdm (neither is a dependency of the grader, and matplotlib
would go into every install, the Gradescope bundle's included); its comparison is all pairs of
files with no weight by how many of the class share a fingerprint; its tokens are characters
of pygments' output, hashed with Python's salted ``hash()``. The winnowing it implements is
the same algorithm as here, on Python's own tokens.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import multiprocessing
import os
import re
import symtable
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .feedback import template_env

K = 10  # tokens in a k-gram (a line of code is about 6 to 12 normalised tokens)
WINDOW = 4  # winnowing window: every run of K + WINDOW - 1 shared tokens is seen
COMMON = 0.5  # a fingerprint held by more than this share of the class is the problem's own
MAX_HOLDERS = 40  # a fingerprint held by more students is no evidence about one pair
MIN_OWN = 8  # a file's score is out of at least this many fingerprints: a few lines prove little
MAX_CHARS = 400_000  # of one file read (a hostile upload may be 50 MB)
PARALLEL_FROM = 200  # files; fewer are read in this process
MAX_PROCESSES = 8
FLOOR = 0.2  # pairs below this are left out of similarity.json and the page

HOW_TO_READ = (
    "A score is a share, from 0 to 1, of the smaller submission's own code: what is left of it "
    "once the template's given code and the lines most of the class wrote are taken out. It is the "
    "higher of two readings. Rarity: the share the other submission also holds, each shared piece "
    "weighted by how rare it is in the class (a piece only these two wrote counts fully, one that m "
    "students wrote counts 1/(m - 1)). Excess: the share they both hold, less what either shares with "
    "anyone else in the class. 1.0 means all of the smaller one's own code is in the other's and "
    "nobody else's. In a class of a hundred, independent solutions of the same problem usually score "
    "under 0.1; in a class of a few, every shared piece is rare, and they score higher. Renamed names, "
    "reordered functions, changed comments, docstrings and formatting, and inserted dead code lower a "
    "score little; rewriting the code in other words lowers it."
)
NOT_A_VERDICT = (
    "Similarity is evidence to look at, never a verdict. Code can be alike for allowed reasons "
    "(the lecture's code, a study group the course permits, a hint given to everyone), and a "
    "rewritten copy can score low. Read the side-by-side pages, and follow your institution's "
    "academic integrity process before concluding anything. This report is for instructors: "
    "nothing of it goes into feedback pages or releases."
)


class Token(NamedTuple):
    text: str
    first: int  # its first and last line in the file
    last: int


def _bound_names(source: str) -> set[str] | None:
    """The names the code binds in any scope: assigned, parameters, imported, defined (None
    where it does not compile: then every name not a builtin counts as bound). Python's own
    symbol tables: three times as fast as walking the syntax tree. Attributes it assigns
    (``self.w = ...``) are found among the tokens."""
    try:
        tables = [symtable.symtable(source, "<submission>", "exec")]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: set[str] = set()
    while tables:
        table = tables.pop()
        for sym in table.get_symbols():
            if sym.is_assigned() or sym.is_parameter() or sym.is_imported() or sym.is_namespace():
                names.add(sym.get_name())
        tables.extend(table.get_children())
    return names


_BUILTINS = frozenset(dir(builtins))
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_STATEMENT_START = {";", "{", "}"}
_ASSIGN = {"=", ":", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", ">>=", "<<="}
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
# Python's tokens, read by one regular expression: the standard library's tokenize is several
# times slower, and reading the class is most of the command's time. Code it cannot read (an
# unclosed string) is read on as single characters: the fingerprints near it change, no more.
_LEXER = re.compile(r"""
 (?P<ws>[ \t\f]+)
|(?P<comment>\#[^\r\n]*)
|(?P<cont>\\\r?\n)
|(?P<nl>\r?\n|\r)
|(?P<string>(?:[rRbBuUfF]{1,2})?(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
|(?P<name>[^\W\d]\w*)
|(?P<number>0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)
|(?P<op>\*\*=|//=|>>=|<<=|->|:=|\.\.\.|[-+*/%&|^@<>=!]=|\*\*|//|<<|>>|[-+*/%&|^@<>=~().,:;\[\]{}])
|(?P<other>.)
""", re.VERBOSE)


def _lex(source: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, first line, last line) of each token that matters: ``name``, ``number``,
    ``string``, ``op``, ``other``, and, as ``op``, ``;`` (a statement's end), ``{`` and ``}``
    (a block's start and end, from the indentation). Comments and blank lines go."""
    out: list[tuple[str, str, int, int]] = []
    line, depth, indents = 1, 0, [0]
    line_start, width, pending = True, 0, False  # at a line's start; its indentation; a statement unfinished
    for m in _LEXER.finditer(source):
        kind, text = m.lastgroup or "other", m.group()
        if kind == "ws":
            if line_start:
                width = len(text.expandtabs(8))
            continue
        if kind in ("nl", "cont"):
            if kind == "nl" and depth == 0 and pending:
                out.append(("op", ";", line, line))
                pending = False
            line += 1
            if kind == "nl" and depth == 0:
                line_start, width = True, 0
            continue
        if kind == "comment":
            continue
        if line_start:
            line_start = False
            if width > indents[-1]:
                indents.append(width)
                out.append(("op", "{", line, line))
            while width < indents[-1]:
                indents.pop()
                out.append(("op", "}", line, line))
        first = line
        if kind == "string":
            line += text.count("\n")
        elif kind == "op":
            depth = max(0, depth + (text in _OPEN) - (text in _CLOSE))
        out.append((kind, text, first, line))
        pending = True
    if pending:
        out.append(("op", ";", line, line))
    out.extend(("op", "}", line, line) for _ in indents[1:])
    return out


def tokens(source: str) -> list[Token]:
    """The file's tokens with comments, docstrings, formatting and the names it binds
    normalised away (see the module's docstring)."""
    source = source[:MAX_CHARS]
    bound = _bound_names(source)
    raw = _lex(source)
    if bound is not None:  # attributes assigned: self.w = ..., self.w += ..., self.w: int = ...
        bound.update(raw[i][1] for i in range(1, len(raw) - 1)
                     if raw[i][0] == "name" and raw[i - 1][1] == "." and raw[i + 1][1] in _ASSIGN)
    out: list[Token] = []
    lone_string: int | None = None  # index of a string that began a statement
    for kind, text, first, last in raw:
        if kind == "string":
            if out and out[-1].text == "S":  # "a" "b" are one string
                out[-1] = Token("S", out[-1].first, last)
                continue
            if not out or out[-1].text in _STATEMENT_START:
                lone_string = len(out)
            out.append(Token("S", first, last))
            continue
        if kind == "op" and text == ";":
            if lone_string is not None and lone_string == len(out) - 1:
                out.pop()  # a docstring, or a string as a comment
                lone_string = None
                continue
            lone_string = None
        elif kind == "name" and text not in _KEYWORDS:
            if (text in bound) if bound is not None else (text not in _BUILTINS):
                text = "V"
        out.append(Token(text, first, last))
    return out


_TOKEN_HASH: dict[str, int] = {}
_PRIME = (1 << 61) - 1
_BASE = 1_000_003


def _token_hash(text: str) -> int:
    h = _TOKEN_HASH.get(text)
    if h is None:
        h = _TOKEN_HASH[text] = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=7).digest(), "big")
    return h


def fingerprints(source: str, k: int = K, window: int = WINDOW) -> dict[int, list[tuple[int, int]]]:
    """The file's winnowed fingerprints: hash -> the line spans (first, last) it was taken from.
    A k-gram's hash is a rolling polynomial hash of its tokens' (the same in every process
    and every run)."""
    toks = tokens(source)
    values = [_token_hash(t.text) for t in toks]
    hashes: list[int] = []
    if len(values) >= k:
        top = pow(_BASE, k - 1, _PRIME)
        h = 0
        for v in values[:k]:
            h = (h * _BASE + v) % _PRIME
        hashes.append(h)
        for i in range(k, len(values)):
            h = ((h - values[i - k] * top) * _BASE + values[i]) % _PRIME
            hashes.append(h)
    chosen: dict[int, list[tuple[int, int]]] = {}
    last_pick = -1
    for start in range(max(len(hashes) - window + 1, min(len(hashes), 1))):  # a short file: one window
        span = hashes[start:start + window]
        low = min(span)
        pick = start + len(span) - 1 - span[::-1].index(low)  # the rightmost minimum
        if pick != last_pick:
            chosen.setdefault(hashes[pick], []).append((toks[pick].first, toks[pick + k - 1].last))
            last_pick = pick
    return chosen


def fingerprint_all(texts: list[str]) -> list[dict[int, list[tuple[int, int]]]]:
    """``fingerprints`` of each text, on every core where there are many (reading Python's
    tokens is most of the command's time)."""
    cores = min(os.cpu_count() or 1, MAX_PROCESSES)
    if len(texts) < PARALLEL_FROM or cores < 2:
        return [fingerprints(t) for t in texts]
    with ProcessPoolExecutor(max_workers=cores, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(fingerprints, texts, chunksize=max(1, len(texts) // (cores * 8))))


@dataclass
class FileScore:
    score: float
    shared: int  # fingerprints the two share (template's and common ones left out)
    own: tuple[int, int]  # each one's own fingerprints in this file
    lines: tuple[list[int], list[int]] = field(default_factory=lambda: ([], []))  # each one's shared lines


@dataclass
class Pair:
    a: str
    b: str
    score: float  # the higher of the two below
    files: dict[str, FileScore] = field(default_factory=dict)
    rarity: float = 0.0  # what they share, each piece weighted by how rare it is in the class
    excess: float = 0.0  # how much more of their code they share with each other than either with anyone else
    page: str = ""


@dataclass
class FileStats:
    students: int  # who handed the file in
    template: int  # the template's fingerprints, left out
    common: int  # fingerprints more than COMMON of the class hold, left out
    short: list[str] = field(default_factory=list)  # students with too little own code to judge


@dataclass
class Similarity:
    assignment: str
    students: list[str]
    pairs: list[Pair]  # every pair at or above the floor, highest first
    files: dict[str, FileStats]
    floor: float
    notes: list[str] = field(default_factory=list)  # per student: what could not be read


def compare(assignment: str, sources: dict[str, dict[str, str]], templates: dict[str, str], *,
            floor: float = FLOOR, common: float = COMMON) -> Similarity:
    """Score every pair of students (``sources``: student -> file name -> code) and keep those
    at or above ``floor``. ``templates``: file name -> the template's code, left out.

    A pair's score is the higher of two: ``rarity``, what they share with each piece weighted
    ``1 / (m - 1)`` by the ``m`` students who hold it; and ``excess``, how much more of their
    code they share with each other than either shares with anyone else (the share of the
    smaller one's own fingerprints both hold, less the higher of each one's next closest):
    a copy of generic-looking code that no third student has so much of. Students alike as
    a group (a tiny problem's one right answer) have no excess and little rarity."""
    students = sorted(sources)
    n = len(students)
    names = sorted({f for files in sources.values() for f in files})
    todo = [(name, i) for name in names for i, s in enumerate(students) if name in sources[s]]
    every = dict(zip(todo, fingerprint_all([sources[students[i]][name] for name, i in todo])))
    per_file: list[_Shared] = []
    prints: dict[str, dict[int, dict[int, list[tuple[int, int]]]]] = {}  # file -> student -> kept prints
    stats: dict[str, FileStats] = {}
    commons: dict[str, set[int]] = {}
    for name in names:
        given = set(fingerprints(templates.get(name, "")))
        held: dict[int, dict[int, list[tuple[int, int]]]] = {}
        holders: dict[int, list[int]] = defaultdict(list)
        for i in range(n):
            if (name, i) in every:
                fp = {h: spans for h, spans in every.pop((name, i)).items() if h not in given}
                held[i] = fp
                for h in fp:
                    holders[h].append(i)
        too_common = max(2.0, common * n)
        common_prints = {h for h, who in holders.items() if len(who) > too_common}
        own = np.zeros(n, dtype=np.int64)
        for i, fp in held.items():
            own[i] = sum(1 for h in fp if h not in common_prints)
        prints[name], commons[name] = held, common_prints
        stats[name] = FileStats(students=len(held), template=len(given), common=len(common_prints),
                                short=sorted(students[i] for i in held if 0 < own[i] < MIN_OWN))
        per_file.append(_shared(holders, common_prints, own, n))
    pairs = _score(per_file, n, floor)
    out = []
    for key, score, rarity, excess in pairs:
        a, b = divmod(key, n)
        files = {}
        for name, f in zip(names, per_file):
            na, nb = int(f.own[a]), int(f.own[b])
            if na and nb:
                w = f.weight_of(key)
                fs = FileScore(score=min(1.0, w / max(min(na, nb), MIN_OWN)), shared=0, own=(na, nb))
                _mark(fs, prints[name][a], prints[name][b], commons[name])
                files[name] = fs
        out.append(Pair(students[a], students[b], round(score, 4), files, rarity=round(rarity, 4), excess=round(excess, 4)))
    out.sort(key=lambda p: (-p.score, p.a, p.b))
    return Similarity(assignment, students, out, stats, floor)


@dataclass
class _Shared:
    """What the pairs of a class share in one file: pair keys (a * n + b, a < b), sorted, with
    the weight and the number of fingerprints each shares; and each student's own count."""

    keys: Any  # numpy arrays
    weight: Any
    count: Any
    own: Any

    def weight_of(self, key: int) -> float:
        i = int(np.searchsorted(self.keys, key))
        return float(self.weight[i]) if i < len(self.keys) and self.keys[i] == key else 0.0


def _shared(holders: dict[int, list[int]], common: set[int], own: Any, n: int) -> _Shared:
    """The inverted index's pairs: each fingerprint held by 2 to MAX_HOLDERS students gives
    each pair of them 1 / (m - 1); cost: the sum of m * m over those fingerprints."""
    by_size: dict[int, list[list[int]]] = defaultdict(list)
    for h, who in holders.items():
        if 2 <= len(who) <= MAX_HOLDERS and h not in common:
            by_size[len(who)].append(who)
    keys, weights = [], []
    for m, groups in by_size.items():
        g = np.asarray(groups, dtype=np.int64)  # (fingerprints, m), each row sorted
        i, j = np.triu_indices(m, 1)
        k = (g[:, i] * n + g[:, j]).ravel()
        keys.append(k)
        weights.append(np.full(len(k), 1.0 / (m - 1)))
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return _Shared(empty, np.zeros(0), empty, own)
    allk = np.concatenate(keys)
    uniq, inverse = np.unique(allk, return_inverse=True)
    return _Shared(uniq, np.bincount(inverse, weights=np.concatenate(weights)), np.bincount(inverse), own)


def _score(per_file: list[_Shared], n: int, floor: float) -> list[tuple[int, float, float, float]]:
    """(pair key, score, rarity, excess) of every pair at or above ``floor``."""
    if not any(len(f.keys) for f in per_file):
        return []
    keys = np.unique(np.concatenate([f.keys for f in per_file]))
    a, b = keys // n, keys % n
    weight, count, denominator = np.zeros(len(keys)), np.zeros(len(keys)), np.zeros(len(keys))
    for f in per_file:
        where = np.searchsorted(keys, f.keys)
        weight[where] += f.weight
        count[where] += f.count
        na, nb = f.own[a], f.own[b]
        denominator += np.where((na > 0) & (nb > 0), np.maximum(np.minimum(na, nb), MIN_OWN), 0)
    ok = denominator > 0
    keys, a, b = keys[ok], a[ok], b[ok]
    rarity = np.minimum(1.0, weight[ok] / denominator[ok])
    contained = np.minimum(1.0, count[ok] / denominator[ok])
    # each student's closest two (containment, who): the next closest of a, b is the first not b, a
    x = np.concatenate([a, b])
    y = np.concatenate([b, a])
    v = np.concatenate([contained, contained])
    order = np.lexsort((-v, x))
    x, y, v = x[order], y[order], v[order]
    first = np.ones(len(x), dtype=bool)
    first[1:] = x[1:] != x[:-1]
    second = np.zeros(len(x), dtype=bool)
    second[1:] = first[:-1] & ~first[1:]
    best_v, best_y = np.zeros(n), np.full(n, -1)
    next_v = np.zeros(n)
    best_v[x[first]], best_y[x[first]] = v[first], y[first]
    next_v[x[second]] = v[second]
    other_a = np.where(best_y[a] == b, next_v[a], best_v[a])
    other_b = np.where(best_y[b] == a, next_v[b], best_v[b])
    excess = np.maximum(0.0, contained - np.maximum(other_a, other_b))
    score = np.maximum(rarity, excess)
    keep = np.nonzero(score >= floor)[0]
    return [(int(keys[i]), float(score[i]), float(rarity[i]), float(excess[i])) for i in keep]


def _mark(fs: FileScore, a: dict[int, list[tuple[int, int]]], b: dict[int, list[tuple[int, int]]],
          common: set[int]) -> None:
    """The shared fingerprints of a scored pair's file (the class's common ones left out), and
    the lines they cover in each."""
    both = (a.keys() & b.keys()) - common
    fs.shared = len(both)
    fs.lines = (_lines(a, both), _lines(b, both))


def _lines(prints: dict[int, list[tuple[int, int]]], chosen: set[int]) -> list[int]:
    lines: set[int] = set()
    for h in chosen:
        for first, last in prints[h]:
            lines.update(range(first, last + 1))
    return sorted(lines)


def as_json(sim: Similarity) -> dict[str, Any]:
    """similarity.json: every pair at or above the floor, highest first, and how to read them."""
    return {
        "assignment": sim.assignment,
        "students": len(sim.students),
        "floor": sim.floor,
        "how_to_read": HOW_TO_READ,
        "not_a_verdict": NOT_A_VERDICT,
        "settings": {"k": K, "window": WINDOW, "common": COMMON, "max_holders": MAX_HOLDERS, "min_own": MIN_OWN},
        "files": {name: {"students": s.students, "template_fingerprints": s.template, "common_fingerprints": s.common}
                  for name, s in sim.files.items()},
        "pairs": [{"a": p.a, "b": p.b, "score": p.score, "rarity": p.rarity, "excess": p.excess, "page": p.page,
                   "files": {name: {"score": round(f.score, 4), "shared_fingerprints": f.shared, "own_fingerprints": list(f.own)}
                             for name, f in p.files.items()}} for p in sim.pairs],
        "notes": sim.notes,
    }


@dataclass
class _Line:
    number: int
    text: str
    mark: str  # "shared", "given" (the template's) or ""


def _side(source: str, shared: list[int], template: str) -> list[_Line]:
    given = {line.strip() for line in template.splitlines() if line.strip()}
    marked = set(shared)
    return [_Line(i, text, "shared" if i in marked else ("given" if text.strip() in given else ""))
            for i, text in enumerate(source[:MAX_CHARS].splitlines(), start=1)]


def write_pages(sim: Similarity, sources: dict[str, dict[str, str]], templates: dict[str, str], out_dir: Path,
                pages: int) -> Path:
    """similarity.html (the ranked table) and a side-by-side page for each of the first
    ``pages`` pairs, under ``out_dir``; returns the table's path."""
    env = template_env()
    folder = out_dir / "similarity"
    folder.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(sim.pairs[:pages], start=1):
        p.page = f"similarity/pair-{i:04d}.html"
        sides = [{"name": name, "score": f.score, "shared": f.shared, "own": f.own,
                  "a": _side(sources[p.a].get(name, ""), f.lines[0], templates.get(name, "")),
                  "b": _side(sources[p.b].get(name, ""), f.lines[1], templates.get(name, ""))}
                 for name, f in sorted(p.files.items(), key=lambda kv: -kv[1].score)]
        html = env.get_template("similarity_pair.html").render(sim=sim, pair=p, rank=i, files=sides,
                                                                how=HOW_TO_READ, verdict=NOT_A_VERDICT)
        (out_dir / p.page).write_text(html, encoding="utf-8")
    table = out_dir / "similarity.html"
    table.write_text(env.get_template("similarity.html").render(sim=sim, how=HOW_TO_READ, verdict=NOT_A_VERDICT,
                                                               pages=pages), encoding="utf-8")
    return table
