"""The worker-side driver of a problem that has none (no rubrics/<assignment>/drivers/<problem>.py).

Its checks call the student's functions directly, with ``submission.function(name)``: the
worker runs them with plain arguments and sends plain values back. This module defines
nothing, so a ``submission.call`` in such a problem's checks is an authoring error that
``grader validate`` (and the loading of the rubric) reports.
"""
