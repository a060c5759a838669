"""Solution markers: a reference solution from which the student's template is derived.

A reference file (``reference/<assignment>/<file>.py``) may mark its solution::

    def logsumexp(x, dim):
        \"\"\"The contract: given to students as it is.\"\"\"
        # BEGIN SOLUTION
        m = x.amax(dim=dim, keepdim=True)
        return (m + torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))).squeeze(dim)
        # END SOLUTION

    def double(x):
        return 2 * x  # SOLUTION

The template is the reference with each block, from its BEGIN line to its END line, replaced
by one line ``raise NotImplementedError("<function>")`` at the indentation of the block's
first line of code, and each line that ends in a ``# SOLUTION`` comment replaced by the same
at its own indentation (``<function>`` names the function it stands in: ``Model.forward``).
Any number of ``#`` (nbgrader's ``### BEGIN SOLUTION``) spells the same marker. A marker is a
comment as Python reads the file (tokenize): one in a string or a docstring is text, not a
marker; a graded reference runs with the markers as plain comments. A comment that looks like
a marker but is not one exactly (``# begin solution``, ``# END SOLUTION here``, ``x = 1  #
solution``) is an error, never passed over: what it should have hidden would reach students.
In a file with markers, that rule refuses by default: every comment that names SOLUTION as a
word (in any case or spelling: ``#SOLUTION#``, ``# SOLUTION: why``, ``# BEGIN_SOLUTION``,
Otter's ``# SOLUTION NO PROMPT``, with invisible or non-breaking spaces, or letters that only
look Latin) and is not one of the markers exactly is an error; the one exception is a comment
``# Solution`` (or ``# Solution:``) alone on its line, in any case but capitals: a heading of
the reference's own. A file with no exact marker is no marked file (a two-file course's
reference may say "solution" as it likes).

Each marked solution lies inside a function's body (a block at module level or in a class's
body would make the template raise when imported); a block begins and ends between
statements, holds code, and does not nest; a ``# SOLUTION`` line is a whole statement. Every
violation is a ConfigError naming the file and line.

Why one module of about 430 lines: how a marker is read (tokens, lookalikes), what a derived
template is, and what "the given code is the reference's" means are one definition of the
markers; split, the refusal of a lookalike would live apart from the derivation it protects.
"""

from __future__ import annotations

import ast
import atexit
import difflib
import hashlib
import io
import os
import re
import shutil
import tempfile
import tokenize
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import ConfigError

_BLOCK = re.compile(r"#+[ \t]*(BEGIN|END)[ \t]+SOLUTION[ \t]*")  # a whole comment, alone on its line
_LINE = re.compile(r"#+[ \t]*SOLUTION[ \t]*")  # a whole comment, at the end of a line of code
# Letters of BEGIN, END and SOLUTION that other scripts draw alike (Cyrillic, Greek, Cherokee):
# a comment spelled with them reads as a marker to its author and must not pass as plain text.
_CONFUSABLE = str.maketrans("ВЕІОЅТНΒΕΙΝΟΤΜЅԀᏞеоѕіοԁӏ", "BEIOSTHBEINOTMSDLeosiodl")
_WORD = re.compile(r"(?<![a-z0-9])(?:begin|end)?solution", re.IGNORECASE)
_HEADING = re.compile(r"#[ \t]*solution:?[ \t]*", re.IGNORECASE)  # "# Solution" alone on its line: a heading
_NO_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER}
STUB = "raise NotImplementedError"


@dataclass(frozen=True)
class Solution:
    """One marked solution of a reference: its lines (1-based, markers included) and the
    function it lies in."""

    first: int
    last: int
    function: str


@dataclass(frozen=True)
class Derived:
    """A template derived from a marked reference: its text, the solutions it replaced, and,
    for each of its lines, the reference's line it comes from (None for a stub)."""

    text: str
    solutions: list[Solution]
    origin: list[int | None]


@dataclass(frozen=True)
class _Read:
    lines: list[str]  # the physical lines, each with its own line ending (as tokenize splits them)
    tokens: list[tokenize.TokenInfo]


def _read(text: str, where: str) -> _Read:
    lines = io.StringIO(text, newline="").readlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text, newline="").readline))
    except (tokenize.TokenError, SyntaxError, ValueError, SystemError) as exc:  # (a NUL byte: ValueError or SystemError)
        line = exc.lineno if isinstance(exc, SyntaxError) else exc.args[1][0] if isinstance(exc, tokenize.TokenError) else None
        at = f"{where}:{line}" if line else where
        raise ConfigError(f"{at}: does not parse: {exc.args[0] if exc.args else exc}") from None
    return _Read(lines, tokens)


def _skeleton(comment: str) -> str:
    """A comment as its author reads it: compatibility forms folded (NFKC: full-width letters,
    ligatures), letters of other scripts drawn like Latin ones made Latin, invisible characters
    (format characters: zero-width spaces, joiners) dropped and every other kind of space made
    one."""
    folded = unicodedata.normalize("NFKC", comment).translate(_CONFUSABLE)
    return "".join("" if unicodedata.category(c) == "Cf" else " " if c.isspace() else c for c in folded)


def _lookalike(comment: str, alone: bool) -> bool:
    """Whether a comment that is no exact marker must be refused: it names SOLUTION, and it is
    not the one plain form (``# Solution`` alone on its line, not in capitals)."""
    heading = alone and _HEADING.fullmatch(comment) is not None and "SOLUTION" not in comment
    return not heading and _names_solution(comment)


def _names_solution(comment: str) -> bool:
    """Whether a comment names SOLUTION as a word, in any case or spelling (``BEGIN_SOLUTION``,
    ``#SOLUTION#``; not ``resolution``)."""
    return _WORD.search(re.sub(r"[^A-Za-z0-9]+", " ", _skeleton(comment))) is not None


def _code_only(line: str, comment_at: int | None) -> str:
    """A line without its line ending, its trailing comment and trailing blanks."""
    return (line if comment_at is None else line[:comment_at]).rstrip()


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")):]


def _indent(line: str) -> str:
    """The line's indentation as Python reads it: a form feed resets the column to 0."""
    return line[:len(line) - len(line.lstrip(" \t\f"))].rsplit("\f", 1)[-1]


def has_markers(text: str) -> bool:
    """Whether ``text`` (a Python file) has a line that may hold a solution marker (or a
    comment that looks like one): cheap, for the many files that never say SOLUTION. A string
    that says so is told apart by ``derive``, which reads the comments as Python does."""
    return "SOLUTION" in text  # every exact marker says it, in capitals


def _statements(tokens: list[tokenize.TokenInfo]) -> list[tuple[int, int]]:
    """The (first, last) physical lines of each logical line (statement line) of the file."""
    spans, start = [], None
    for t in tokens:
        if t.type in _NO_CODE and t.type != tokenize.NEWLINE:
            continue
        if start is None:
            start = t.start[0]
        if t.type == tokenize.NEWLINE:
            spans.append((start, t.start[0]))
            start = None
    return spans


def _functions(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line of the body, last line, qualified name) of every function of the module."""
    found: list[tuple[int, int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                # (a body on the def's own line is no body to mark: the def line would go with it)
                first = min([child.body[0].lineno] + [d.lineno for d in getattr(child.body[0], "decorator_list", [])])
                found.append((max(first, child.lineno + 1), child.end_lineno or child.lineno, name))
                walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return found


def derive(text: str, where: str = "<reference>", *, strict: bool = False) -> Derived | None:
    """The template derived from the reference ``text``, or None when it has no solution
    markers. ``where`` names the file in errors (``reference/hw1/logsumexp.py``). ``strict``:
    the template is to come from it (there is no template file), so a file whose only
    markers are lookalikes is an error, not a file with no markers."""
    text = text.removeprefix("\ufeff")  # a byte order mark: Python reads the file without it
    if not strict and not has_markers(text):
        return None
    read = _read(text, where)
    lines = read.lines
    comments = [t for t in read.tokens if t.type == tokenize.COMMENT]
    if not any(_BLOCK.fullmatch(t.string.rstrip()) or _LINE.fullmatch(t.string.rstrip()) for t in comments):
        for t in comments if strict else []:
            if _lookalike(t.string.rstrip(), not lines[t.start[0] - 1][:t.start[1]].strip()):
                raise ConfigError(f"{where}:{t.start[0]}: {t.string.rstrip()!r} looks like a solution marker but is not "
                                  "one, and the file has no other: the template derived from it would be the whole "
                                  "solution. Write '# BEGIN SOLUTION' and '# END SOLUTION' on lines of their own, or "
                                  "end a line with '# SOLUTION' (in capitals, nothing after them, plain spaces)")
        return None  # "SOLUTION" only in strings, or in comments of a reference that marks nothing
    try:
        tree = ast.parse(text, filename=where)
    except SyntaxError as exc:
        raise ConfigError(f"{where}:{exc.lineno}: does not parse: {exc.msg}") from None
    except ValueError as exc:  # (a NUL byte)
        raise ConfigError(f"{where}: does not parse: {exc}") from None
    code_rows = sorted({r for t in read.tokens if t.type not in _NO_CODE for r in range(t.start[0], t.end[0] + 1)})
    spans = _statements(read.tokens)
    functions = _functions(tree)

    def inside(first: int, last: int, what: str) -> str:
        around = [(lo, hi, name) for lo, hi, name in functions if lo <= first and last <= hi]
        if not around:
            raise ConfigError(
                f"{where}:{first}: {what} is not inside a function's body: the template would raise NotImplementedError "
                "when imported. Mark code inside the body of each function the student writes (a class's methods one "
                "by one), or keep a separate template file in student_template/")
        return min(around, key=lambda f: f[1] - f[0])[2]

    def whole(first: int, last: int, what: str) -> None:
        for lo, hi in spans:
            if lo <= last and first <= hi and not (first <= lo and hi <= last):
                raise ConfigError(f"{where}:{first}: {what} cuts the statement of lines {lo}-{hi} in two: "
                                  + ("mark the whole statement with # BEGIN SOLUTION and # END SOLUTION on lines of "
                                     "their own" if first == last else "put the markers between statements"))

    solutions: list[Solution] = []
    begin: int | None = None
    marked: list[int] = []  # lines ending in "# SOLUTION", outside blocks
    for t in read.tokens:
        if t.type != tokenize.COMMENT:
            continue
        row, comment = t.start[0], t.string.rstrip()
        alone = not lines[row - 1][:t.start[1]].strip()
        block, line = _BLOCK.fullmatch(comment), _LINE.fullmatch(comment)
        if not block and not line:
            if begin is None and _lookalike(comment, alone):  # (inside a block, a comment goes with the block)
                raise ConfigError(f"{where}:{row}: {comment!r} looks like a solution marker but is not one: write "
                                  "'# BEGIN SOLUTION' and '# END SOLUTION' on lines of their own, or end a line with "
                                  "'# SOLUTION' (in capitals, nothing after them, plain spaces); a comment of "
                                  "your own that says 'solution' must say it otherwise in a file with markers")
            continue
        if block:
            if not alone:
                raise ConfigError(f"{where}:{row}: {comment!r} follows code on its line: a block's markers go on lines "
                                  "of their own")
            if block.group(1) == "BEGIN":
                if begin is not None:
                    raise ConfigError(f"{where}:{row}: BEGIN SOLUTION inside the block that line {begin} begins "
                                      "(blocks do not nest): end that one first with # END SOLUTION")
                begin = row
                continue
            if begin is None:
                raise ConfigError(f"{where}:{row}: END SOLUTION with no BEGIN SOLUTION before it")
            code = [r for r in code_rows if begin < r < row]
            if not code:
                raise ConfigError(f"{where}:{begin}: the solution block of lines {begin}-{row} holds no code")
            whole(code[0], code[-1], f"the solution block of lines {begin}-{row}")
            solutions.append(Solution(begin, row, inside(code[0], code[-1], f"the solution block of lines {begin}-{row}")))
            begin = None
        elif begin is None:  # a "# SOLUTION" line inside a block goes with the block
            if alone:
                raise ConfigError(f"{where}:{row}: '# SOLUTION' alone on a line marks nothing: end the line it "
                                  "replaces with it, or mark a block with # BEGIN SOLUTION and # END SOLUTION")
            whole(row, row, "the line marked # SOLUTION")
            marked.append(row)
    if begin is not None:
        raise ConfigError(f"{where}:{begin}: BEGIN SOLUTION has no END SOLUTION after it")
    for row in marked:
        solutions.append(Solution(row, row, inside(row, row, "the line marked # SOLUTION")))
    if not solutions:
        return None  # "SOLUTION" only in strings (a docstring that shows the markers)
    solutions.sort(key=lambda s: s.first)
    return _replaced(lines, solutions, code_rows, where)


def _replaced(lines: list[str], solutions: list[Solution], code_rows: list[int], where: str) -> Derived:
    out: list[str] = []
    origin: list[int | None] = []
    starts = {s.first: s for s in solutions}
    row = 1
    while row <= len(lines):
        s = starts.get(row)
        if s is None:
            out.append(lines[row - 1])
            origin.append(row)
            row += 1
            continue
        first_code = next(r for r in code_rows if s.first <= r <= s.last)
        end = _ending(lines[s.first - 1]) or _ending(lines[s.last - 1])
        stub = f'{STUB}("{s.function}")'
        out.append(f"{_indent(lines[first_code - 1])}{stub}{end}")
        origin.append(None)
        row = s.last + 1
    text = "".join(out)
    try:
        ast.parse(text)
    except SyntaxError as exc:
        at = origin[exc.lineno - 1] if exc.lineno and exc.lineno <= len(origin) else None
        near = f"its line {at}" if at else "a replaced solution"
        raise ConfigError(f"{where}: the template derived from it does not parse near {near}: {exc.msg} (does a "
                          "marked solution leave a statement without its body?)") from None
    return Derived(text, solutions, origin)


# ------------------------------------------------------- the given code --


def _keys(read: _Read) -> list[str]:
    """Each physical line's code: without its comment, its line ending and trailing blanks."""
    comments = {t.start[0]: t.start[1] for t in read.tokens if t.type == tokenize.COMMENT}
    return [_code_only(line, comments.get(i)) for i, line in enumerate(read.lines, 1)]


def given_differences(reference: str, template: str, *, reference_name: str, template_name: str,
                      limit: int = 10) -> list[str]:
    """Where the template's given code is not the reference's: every line of code of the
    reference outside its marked solutions must be in the template, in the same order, and the
    template may hold nothing else but what stands in for a solution (any lines where one was).
    Comments and blank lines are not compared (a template may add hints, a reference notes to
    the course's staff); indentation and everything else of a line of code are. Empty when
    they agree; the reference must have markers (else nothing is known of what is given)."""
    reference, template = reference.removeprefix("\ufeff"), template.removeprefix("\ufeff")
    derived = derive(reference, reference_name)
    if derived is None:
        raise ValueError(f"{reference_name} has no solution markers")
    ref_keys = _keys(_read(reference, reference_name))
    tpl_read = _read(template, template_name)
    tpl_keys = _keys(tpl_read)
    solution_rows = {r for s in derived.solutions for r in range(s.first, s.last + 1)}
    ours: list[tuple[int, str] | Solution] = []  # the reference's given lines of code, and its solutions
    for row, key in enumerate(ref_keys, 1):
        if row in solution_rows:
            s = next(s for s in derived.solutions if s.first <= row <= s.last)
            if row == s.first:
                ours.append(s)
        elif key:
            ours.append((row, key))
    theirs = [(row, key) for row, key in enumerate(tpl_keys, 1) if key]
    a = [x[1] if isinstance(x, tuple) else x for x in ours]  # a Solution equals no line: it takes what is there
    b = [key for _, key in theirs]
    found: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            found += _region(ours[i1:i2], theirs[j1:j2], theirs[j1 - 1][0] if j1 else 0, reference_name, template_name)
    if len(found) > limit:
        found = found[:limit] + [f"... and {len(found) - limit} more"]
    return found


def _region(ours: list[tuple[int, str] | Solution], theirs: list[tuple[int, str]], before: int, reference_name: str,
            template_name: str) -> list[str]:
    """What differs in one stretch where the template and the reference's given code do not
    agree: ``ours``, the reference's given lines and solutions there; ``theirs``, the
    template's lines; ``before``, the template's line before the stretch (0: none). Where the
    stretch holds a solution, the template's lines there may stand in for it: the given lines
    before the first solution are paired with the template's first lines, those after the last
    with its last lines, and those between are missing; the template's other lines are taken as
    the stubs'."""
    kinds = [isinstance(x, Solution) for x in ours]
    first = kinds.index(True) if True in kinds else len(ours)
    last = len(ours) - 1 - kinds[::-1].index(True) if True in kinds else len(ours)
    head = [x for x in ours[:first] if isinstance(x, tuple)]
    tail = [x for x in ours[last + 1:] if isinstance(x, tuple)] if True in kinds else []
    middle = [x for x in ours[first:last + 1] if isinstance(x, tuple)]
    found: list[str] = []
    pairs = list(zip(head, theirs))
    rest = theirs[len(pairs):]
    pairs_tail = list(zip(tail[::-1], rest[::-1]))[::-1]
    rest = rest[:len(rest) - len(pairs_tail)]
    for (r, rtext), (t, ttext) in pairs + pairs_tail:
        found.append(f"{template_name}:{t}: {ttext!r}, where {reference_name}:{r} has {rtext!r}")
    near = f"after its line {theirs[len(pairs) - 1][0] if pairs else before}" if pairs or before else "at its start"
    missing = head[len(pairs):] + middle + tail[:len(tail) - len(pairs_tail)]
    found += [f"{reference_name}:{r}: {text!r} is not in {template_name} ({near})" for r, text in missing]
    if True not in kinds:  # no solution here: what else the template holds is not the reference's
        found += [f"{template_name}:{t}: {text!r} is not in {reference_name} (neither its given code nor where a "
                  "marked solution is)" for t, text in rest]
    return found


def marker_lines(text: str) -> list[tuple[int, str]]:
    """(line, text) of each line of ``text`` that holds a solution marker, or what looks like one,
    in any context (a comment, a string, a notebook's JSON): what must never reach students."""
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1)
            if _RELEASED_BLOCK.search(seen := _skeleton(line)) or _RELEASED_LINE.search(seen)]


_RELEASED_BLOCK = re.compile(r"#+[ \t]*(BEGIN|END)[ \t_-]*SOLUTION|#+[ \t]*SOLUTION[ \t_-]*(BEGIN|END)", re.IGNORECASE)
_RELEASED_LINE = re.compile(r"#+[ \t]*SOLUTION[ \t]*(\\n)?[\"',]*[ \t]*$")  # (a notebook's JSON: "...  # SOLUTION\n",)


# ------------------------------------------------------- on disk (cached) --


_derived: dict[tuple[str, str], Path] = {}
_folder: list[Path] = []


def _cache() -> Path:
    """This process's folder of derived templates (removed when it exits)."""
    if not _folder:
        folder = Path(tempfile.mkdtemp(prefix="grader-templates-"))
        pid = os.getpid()
        atexit.register(lambda: shutil.rmtree(folder, ignore_errors=True) if os.getpid() == pid else None)
        _folder.append(folder)
    return _folder[0]


def derived_template(reference: Path, name: str, where: str) -> Path | None:
    """The template derived from the marked ``reference`` file, written once (per content) as
    ``name`` in a folder of this process's own, or None when the reference has no markers.
    ``where`` names the reference in errors."""
    data = reference.read_bytes()
    key = (str(reference.resolve()), hashlib.sha256(data).hexdigest())
    if key in _derived and _derived[key].is_file():
        return _derived[key]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text ({exc})") from None
    derived = derive(text, where, strict=True)
    if derived is None:
        return None
    path = _cache() / key[1][:24] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(derived.text.encode("utf-8"))
    _derived[key] = path
    return path
