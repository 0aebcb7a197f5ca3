"""``python -m trello_restore`` runs the command line."""

from trello_restore.entry import run

if __name__ == "__main__":
    run()
