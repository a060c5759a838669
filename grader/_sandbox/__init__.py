"""Where student code runs: the runner seam, local workers (rootless or root), cgroups, the freeze, Docker.

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
