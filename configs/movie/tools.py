"""`--config configs/movie` loads the packaged suite: llmcompiler/suites/movie/tools.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.movie.tools import *  # noqa: F403
