"""The command line: options in, one core call, a Report out to a renderer. No SQL, no analysis."""
