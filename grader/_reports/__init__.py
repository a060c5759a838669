"""What people read: feedback pages, the class summary and report, and what a student is shown of a result.

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
