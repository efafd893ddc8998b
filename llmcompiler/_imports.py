"""Importing a module a user named on the command line (`--tools mymodule:attr`, ...).

`python -m llmcompiler.cli` has the current directory first on `sys.path`; the installed
`llmcompiler` console script has its own folder (the environment's bin/) there instead, so
`mymodule.py` next to the user was found by one and not by the other. Both now do what
`python -m` does. The directory stays on the path: a factory that imports a sibling module
when it is called, after the import, must find it too.
"""

from __future__ import annotations

import importlib
import os
import sys
import types

__all__ = ["import_user_module"]


def import_user_module(name: str) -> types.ModuleType:
    """`importlib.import_module(name)` with the current directory first on `sys.path`."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()
    return importlib.import_module(name)
