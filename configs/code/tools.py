"""`--config configs/code` loads the packaged suite: llmcompiler/suites/code/tools.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.code.tools import *  # noqa: F403
