"""For course staff: `grader new`, release, known mistakes, and the rubric's reference docs.

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
