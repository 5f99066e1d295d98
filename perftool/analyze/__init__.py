"""`perftool analyze`: the sections registry, the run, the health score."""
