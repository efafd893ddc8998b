"""`--config configs/hotpotqa` loads the packaged suite: llmcompiler/suites/hotpotqa/react_prompts.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.hotpotqa.react_prompts import *  # noqa: F403
