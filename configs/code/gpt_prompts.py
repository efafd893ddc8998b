"""`--config configs/code` loads the packaged suite: llmcompiler/suites/code/gpt_prompts.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.code.gpt_prompts import *  # noqa: F403
