"""Reads of mailing data. Every customer read is scoped to its owner."""

from mailing.figures import site_figures

__all__ = ["site_figures"]
