"""gunicorn settings read from the project root. Wires the embedded forwarding worker: on the
embedded default (SQLite) one worker process runs the forwarding thread; the others wait on a
lock file and take over if it dies. With PostgreSQL, run `python -m sync` instead."""

# Phones upload photos over slow links: threads keep long uploads from blocking others, and
# gthread workers are not killed while a request is still streaming.
worker_class = "gthread"
threads = 4
timeout = 120


def on_starting(server):
    # App-user keys in URLs (/v1/key/<token>/, ?st=) are passwords: the access log's request
    # line and every other record of the master and its forked workers are redacted.
    from server.logs import install_redaction

    install_redaction()


def post_worker_init(worker):
    app = worker.wsgi
    if app.extensions["donghanh"].settings.runs_embedded_worker:
        from sync.worker import start_embedded

        start_embedded(app)


# Forwarded headers are judged by the app alone, from TRUSTED_PROXIES (server/http/proxy.py):
# gunicorn's own rule would believe X-Forwarded-Proto from any loopback peer.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
