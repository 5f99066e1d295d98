"""Finding and Report records, and the renderers that turn one Report into any output format."""

from perftool.report.model import Column, Finding, Report, Section, Severity

__all__ = ["Column", "Finding", "Report", "Section", "Severity"]
