"""Index and table health: the checks (one module per code), declarative index sets and their
drift, the reports behind `indexes health`, `snapshot`, `diff` and the CI gate."""
