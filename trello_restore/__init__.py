"""trello-restore: put back the card members that Trello removed as a side effect."""

__version__ = "0.1.0"
