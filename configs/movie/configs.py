"""`--config configs/movie` loads the packaged suite: llmcompiler/suites/movie/configs.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.movie.configs import *  # noqa: F403
