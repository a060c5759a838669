"""Grading: the Python API behind the CLI, the pytest plugin, and a problem's run behind its worker.

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
