"""trello-restore: put back the card members that Trello removed as a side effect."""

import logging

__version__ = "0.1.0"

# Until the command line sets up its handlers, the package's records go nowhere: Python's
# last-resort handler would print them on stderr as a second line (a Ctrl-C before the
# settings were read printed the log file's "exit 130: …" under its "Interrupted" line).
logging.getLogger(__name__).addHandler(logging.NullHandler())
