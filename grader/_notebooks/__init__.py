"""Notebooks: a submitted .ipynb read as the module the rule says, and the template notebooks made for students.

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
