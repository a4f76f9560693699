"""The command line, thin: parse, call, render, exit code (``app``); the terminal side of
apply (``apply``), errors and their one-line explanations (``errors``), and the demo."""
