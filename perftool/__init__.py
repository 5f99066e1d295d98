"""perftool — tune PostgreSQL databases behind web APIs."""

__version__ = "0.1.0"
