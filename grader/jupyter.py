"""Self-check from inside a notebook (Jupyter or Colab), without leaving it::

    from grader.jupyter import check
    check("mfdnn-hw5")                # this notebook, as last saved
    check("mfdnn-hw5", "hw5.ipynb")   # a notebook named

It runs ``grader check ASSIGNMENT NOTEBOOK`` in a process of its own (the same public
checks, the same sandbox and verdicts as in a terminal), prints its table, and shows the
feedback page inline where IPython can display HTML. The notebook is found as Jupyter names
it (``__session__``, ``JPY_SESSION_NAME``); in Colab, whose notebooks are not files, the
notebook as last saved is fetched from Colab and written beside the course (the release
folder) first. ``course`` is the release folder (default: found from the current folder up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["check", "this_notebook"]


def this_notebook() -> Path | None:
    """The notebook this kernel runs, where Jupyter or Colab says (None where neither does)."""
    main = sys.modules.get("__main__")
    for where in (getattr(main, "__session__", None), os.environ.get("JPY_SESSION_NAME")):
        if where and str(where).endswith(".ipynb") and Path(str(where)).is_file():
            return Path(str(where))
    try:  # Colab: the notebook lives in Drive; Colab hands its JSON to the kernel on request
        from google.colab import _message
    except ImportError:
        return None
    reply = _message.blocking_request("get_ipynb", timeout_sec=30)
    if not isinstance(reply, dict) or "ipynb" not in reply:
        return None
    out = Path(tempfile.mkdtemp(prefix="grader-colab-")) / "notebook.ipynb"
    out.write_text(json.dumps(reply["ipynb"]), encoding="utf-8")
    return out


def check(assignment: str, notebook: str | os.PathLike[str] | None = None, *, course: str | os.PathLike[str] | None = None,
          problem: str | None = None) -> int:
    """Self-check ``notebook`` (default: this one, as last saved) against the public tests of
    ``assignment``; return the check's exit status (0: every public test passed)."""
    path = Path(notebook) if notebook is not None else this_notebook()
    if path is None:
        raise FileNotFoundError("cannot tell which notebook this is: save it, then name it, "
                                f"e.g. check({assignment!r}, \"hw5.ipynb\")")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such notebook here (save it first; the current folder is {Path.cwd()})")
    command = [sys.executable, "-m", "grader", "check", assignment, str(path)]
    if course is not None:
        command += ["--course", str(course)]
    if problem is not None:
        command += ["--problem", problem]
    proc = subprocess.run(command, capture_output=True, text=True)
    print(proc.stdout + proc.stderr, end="")
    page = path.with_name(f"{path.stem}-feedback.html")
    if page.is_file():
        try:
            from IPython.display import HTML, display
        except ImportError:
            print(f"Feedback page: {page}")
        else:
            display(HTML(page.read_text(encoding="utf-8")))
    return proc.returncode
