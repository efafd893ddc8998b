"""Runtime benchmarks on simulated models and tools (see benchmarks/README.md)."""
