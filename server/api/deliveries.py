"""Forwarding status in the REST API: list deliveries, retry dead ones, counts per target;
and /metrics for Prometheus (outside /v1)."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from server.api import bp
from server.api.schemas import DeliveryOutput, TargetStatsOutput
from server.auth.permissions import require
from server.db import get_db
from server.http.proxy import is_loopback
from server.services import deliveries

metrics_bp = Blueprint("metrics", __name__)


@bp.get("/deliveries")
def list_deliveries() -> Response:
    state = request.args.get("state")
    with get_db().transaction(write=False) as session:
        rows = deliveries.list_deliveries(session, g.principal, state)
    return jsonify(DeliveryOutput(many=True).dump(rows))


@bp.get("/deliveries/stats")
def delivery_stats() -> Response:
    require(g.principal, "delivery.read")
    with get_db().transaction(write=False) as session:
        rows = deliveries.stats(session)
    return jsonify(TargetStatsOutput(many=True).dump(rows))


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry_delivery(delivery_id: int) -> Response:
    with get_db().transaction() as session:
        count = deliveries.retry(session, g.principal, delivery_id)
    return jsonify({"success": True, "retried": count})


@bp.post("/deliveries/retry")
def retry_all_dead() -> Response:
    with get_db().transaction() as session:
        count = deliveries.retry(session, g.principal, None)
    return jsonify({"success": True, "retried": count})


@metrics_bp.get("/metrics")
def metrics() -> Response:
    """Per-target delivery gauges in Prometheus' text format (counts only, no record data).
    Served to loopback only: scrape it from the host, or through the proxy with auth."""
    if not is_loopback(request.environ):  # a request a proxy forwarded is not, whatever its peer
        return Response("metrics are served to loopback only\n", 403, content_type="text/plain")
    with get_db().transaction(write=False) as session:
        rows = deliveries.stats(session)
    lines = []
    for name, help_text, attr in (
        ("donghanh_deliveries_pending", "Deliveries waiting to be sent", "pending"),
        ("donghanh_deliveries_in_flight", "Deliveries being sent now", "in_flight"),
        ("donghanh_deliveries_delivered", "Deliveries the register acknowledged", "delivered"),
        ("donghanh_deliveries_dead", "Deliveries that failed for good", "dead"),
        (
            "donghanh_deliveries_oldest_pending_seconds",
            "Age of the oldest pending delivery",
            "oldest_pending_seconds",
        ),
    ):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for row in rows:
            value = getattr(row, attr) or 0
            target = row.target.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name}{{target="{target}"}} {value}')
    return Response("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
