"""`python -m platesvc`: the same as the `platesvc` command."""

from platesvc.cli import main

main()
