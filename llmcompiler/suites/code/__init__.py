"""The code suite: `python` and `code` over a workspace of files (`llmcompiler ask --file ...`, `--config code`)."""
