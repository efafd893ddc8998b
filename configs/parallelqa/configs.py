"""`--config configs/parallelqa` loads the packaged suite: llmcompiler/suites/parallelqa/configs.py is the one copy.

To start a suite of your own, copy that folder, not this one (see ../README.md).
"""

from llmcompiler.suites.parallelqa.configs import *  # noqa: F403
