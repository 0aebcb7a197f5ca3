"""Every default of a run, in one place.

The config file's documentation (``config.example.toml``), the command line's help, the
settings' resolution (``config.py``), the planning and apply requests (``run.py``) and the
engine's options (``applier.ApplyOptions``, ``api.ApiSettings``) all take their defaults from
here, so a default is changed once. Plain values only: importing this module costs nothing.
"""

from __future__ import annotations

from typing import Literal

#: Trello's API base.
API_URL = "https://api.trello.com/1"
#: Concurrent writers when applying or undoing. A request holds its slot of the budget until a
#: window after its answer, so the budget sends at most 100 per (10 s + round trip), and the
#: writers, one request in flight each, ``WORKERS`` per round trip: 16 keep the budget the bound
#: up to a round trip of about 1.9 s (R75c: with 8, an apply over a 1 s round trip took 1.5
#: times the rate bound, 1.25 with 16).
WORKERS = 16
#: The most writers ``--workers`` (``limits.workers``) may ask for.
MAX_WORKERS = 64
#: The cap on the tool's own requests per rate window per token (``--rate-limit``): Trello's
#: whole budget of 100. The limiter (``limiter.py``) still paces by Trello's own count: all of
#: it while that count agrees with the tool's, 90 less what others use while it shows others.
TOKEN_RATE_LIMIT = 100
#: The cap on the tool's own requests per rate window per API key: Trello's 300.
KEY_RATE_LIMIT = 300
#: Trello's rate window, in seconds.
RATE_WINDOW_S = 10.0
#: Retries of a read or a write after a 429, a 5xx or a connection error (attempts = retries + 1).
MAX_RETRIES = 5
#: Backoff base in seconds for 5xx and connection errors: ``BACKOFF_S * 2**n``, jittered.
BACKOFF_S = 1.0
#: Seconds a request waits to connect, and for Trello's answer (between bytes). Their sum is
#: the longest a write of a killed run may still be on its way to Trello: undo waits that long
#: before it reads whether such a write took effect.
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
#: The board role ``--add-to-board`` grants unless ``--board-role`` says otherwise.
BOARD_ROLE: Literal["normal", "observer"] = "normal"
#: What is restored unless ``--restore`` says otherwise (design.md §10.1): card members only,
#: so every command means what it meant before the value kinds.
RESTORE: tuple[str, ...] = ("members",)
#: The planning mode unless ``--mode`` says otherwise.
MODE: Literal["removed", "ever-added"] = "removed"
#: The shortest API key or token blanked out of messages and logs. A real key is 32 hex digits
#: and a real token 64 characters or more; a value of a few characters is no credential (a
#: typo, a placeholder), and blanking it wherever it occurs garbles the text that says so
#: (a token "o": "Trell*** rejected the API key ***r t***ken").
SHORTEST_SECRET = 8
