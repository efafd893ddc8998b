"""Tool suites shipped inside the package, so that an installed `llmcompiler` finds them.

`general` serves `llmcompiler ask` without `--config`; `hotpotqa`, `movie` and `parallelqa`
are the paper's benchmarks (`llmcompiler bench --benchmark_name NAME`). The repository's
`configs/NAME/` folders re-export these modules for `--config configs/NAME`; each folder
here is the template to copy for a suite of your own (configs/README.md).
"""
