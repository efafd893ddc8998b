"""`--config configs/movie` loads the packaged suite: llmcompiler/suites/movie/react_prompts.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.movie.react_prompts import *  # noqa: F403
