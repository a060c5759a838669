"""The by-hand policy: a problem that forbids a tool reads the student's file against the names it allows (refuse by default).

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
