"""Run a worker, a zygote, a box or the probe: ``python -I <folder>/_grader_worker/__main__.py ARGS``.

Run as a script (``-I`` puts no folder of it on sys.path), it imports its package by the
folder's name, from the folder above it.
"""

import os
import sys

if __package__ in (None, ""):
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.dirname(_here))
    _package = __import__(os.path.basename(_here))
    del sys.path[0]  # (the worker puts its own folders on the path)
    sys.exit(_package.entry())
else:  # python -m
    from . import entry

    sys.exit(entry())
