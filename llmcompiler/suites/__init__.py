"""Tool suites shipped inside the package (the benchmark suites live in the repository's configs/)."""
