"""The ``skage`` command line: demo, fit, predict, evaluate, benchmark, report."""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
