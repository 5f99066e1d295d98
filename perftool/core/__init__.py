"""The analysis core: everything here is callable as a library; the CLI only parses and renders."""
