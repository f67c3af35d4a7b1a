"""python -m sync: the forwarding worker process. SIGTERM or SIGINT stop it after the current
delivery. Several may run against PostgreSQL at once."""

from __future__ import annotations

import signal
import threading

from server.app import create_app
from sync.worker import run


def main() -> None:
    app = create_app()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(app, stop)


if __name__ == "__main__":
    main()
