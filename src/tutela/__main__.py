"""``python -m tutela`` runs the command-line interface."""

from tutela.cli.entry import main

if __name__ == "__main__":
    main()
