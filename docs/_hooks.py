"""mkdocs hooks for the site (mkdocs.yml, hooks:); not a page.

- Placeholders such as ``student_template/<assignment>/`` written outside code (docs/rubric.md
  is made so from the models' descriptions, by ``python -m grader._authoring.docs``) would be
  read as HTML tags and vanish from the page: outside code they are escaped, so they show as
  written (GitHub shows them so too).
- mkdocs-click 0.9 prints click 8.3's marker for "no default" (``Sentinel.UNSET``, on options
  such as ``--problem`` that may be repeated) as if it were a value: the command reference
  shows "None" there instead, as for every other option without a default.
"""

from __future__ import annotations

import re
from typing import Any

# Fenced blocks, code spans (any number of backticks) and HTML comments are left as they are.
_CODE = re.compile(r"^(```|~~~).*?^\1[ \t]*$|(`+).*?(?<!`)\2(?!`)|<!--.*?-->", re.S | re.M)
_PLACEHOLDER = re.compile(r"<([a-z][a-z0-9_-]*)>")
_HTML = {"a", "b", "i", "p", "br", "em", "hr", "li", "ol", "ul", "td", "th", "tr", "div", "kbd", "sub", "sup",
         "span", "code", "pre", "img", "table", "thead", "tbody", "strong", "details", "summary", "small"}


def _escape(text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: m.group(0) if m.group(1) in _HTML else f"&lt;{m.group(1)}&gt;", text)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    out, at = [], 0
    for m in _CODE.finditer(markdown):
        out += [_escape(markdown[at:m.start()]), m.group(0)]
        at = m.end()
    return "".join(out + [_escape(markdown[at:])])


def on_page_content(html: str, **kwargs: Any) -> str:
    return html.replace("<code>Sentinel.UNSET</code>", "None")
