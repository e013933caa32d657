"""``python -m tailrisk``: the command line, where the ``tailrisk`` script is not installed."""

from .cli import main

main()
