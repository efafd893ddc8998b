"""`--config configs/hotpotqa` loads the packaged suite: llmcompiler/suites/hotpotqa/configs.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.hotpotqa.configs import *  # noqa: F403
