"""The general suite: Wikipedia search and math, for `llmcompiler ask` without `--config`."""
