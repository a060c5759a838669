"""What a course is on disk: its folders, rubric and result models, a worker's limits, the check of its drivers' calls, the intake of submissions, and student text made safe to show.

Internal: an author imports `grader`, `grader.checks`, `grader.driver` and `grader.fixtures`."""
