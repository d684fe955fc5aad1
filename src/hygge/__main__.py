"""`python -m hygge` is the `hygge` command."""

from hygge.cli import main

main()
