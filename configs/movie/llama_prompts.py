"""`--config configs/movie` loads the packaged suite: llmcompiler/suites/movie/llama_prompts.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.movie.llama_prompts import *  # noqa: F403
