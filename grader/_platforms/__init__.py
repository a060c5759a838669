"""Where grading runs or reports to beyond this machine: Slurm clusters and Gradescope.

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
