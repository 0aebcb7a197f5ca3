"""``python -m trello_restore`` runs the command line."""

from trello_restore.cli import main

if __name__ == "__main__":
    main()
