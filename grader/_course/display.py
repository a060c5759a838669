"""Text a student controls (names of folders and files, messages echoing what their code did),
made safe for the people and programs that read the grader's outputs.

- ``visible``: control characters, terminal escapes and Unicode bidi overrides become
  visible escapes (``\\x1b``, ``\\u202e``): a name cannot clear a screen, forge a line of
  ``intake.txt``, or show a page's text reversed.
- ``cell``: a CSV cell a spreadsheet would run as a formula (OWASP's rule for CSV
  injection: it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, or
  their full-width forms) gets a leading apostrophe, so Excel, Sheets and LibreOffice show
  it as text.
- ``capped``: at most so many characters of a message, saying how many were dropped.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides and isolates,
# the marks, zero-width characters and the BOM.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
FORMULA = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def visible(text: str, newlines: bool = False) -> str:
    """``text`` with every control, escape and bidi character shown as an escape; with
    ``newlines``, line breaks and tabs are kept (a message), else escaped too (a name)."""
    return (_UNSAFE if newlines else _UNSAFE_LINE).sub(_escape, text)


def cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs: text that would start a formula is quoted."""
    if isinstance(value, str):
        return ("'" if value.startswith(FORMULA) else "") + visible(value)
    return value


def capped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters dropped]"


def finalize(value: Any) -> Any:
    """Jinja's ``finalize``: every string a template prints goes through ``visible`` first
    (markup the grader made stays markup: the escapes it adds are plain text)."""
    from markupsafe import Markup

    if isinstance(value, Markup):
        return Markup(visible(str(value), newlines=True))
    return visible(value, newlines=True) if isinstance(value, str) else value
