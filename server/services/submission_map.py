"""Where submissions were made: the review list's map (the first GPS answer of the newest
matching submissions) and Central's ``submissions.geojson`` (a FeatureCollection of one geo
question's answers, streamed). Locations say where clients live or meet: both are audited
and scoped to the caller's wards; a geo question of the special category is left out unless
the caller's role may read it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import forms
from forms.xform import Field
from forms.xml import local, parse
from server.auth.permissions import Principal, can, require
from server.errors import MissingParameter
from server.models.forms import FormVersion
from server.models.submissions import Submission, SubmissionVersion
from server.services import audit, odata
from server.services import forms as form_service
from server.services.submission_tables import SPECIAL_VERB
from server.services.submissions import SubmissionFilters, filter_clauses, form_or_404

MAP_LIMIT = 2000
GEO_TYPES = ("geopoint", "geotrace", "geoshape")
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class MapPoint:
    instance_id: str
    name: str
    lat: float
    lon: float
    review_state: str | None


def map_points(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    filters: SubmissionFilters,
) -> tuple[list[MapPoint], int]:
    """The first GPS answer of the newest matching submissions (at most MAP_LIMIT) in the
    caller's wards, and how many matched in all. Locations say where clients live or meet:
    the look is audited like a submission's."""
    require(principal, "submission.read", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    version = session.get(FormVersion, form.current_version_id or form.draft_version_id)
    schema = form_service.schema_of(session, version)
    special = can(principal, SPECIAL_VERB, project_id)
    paths = [
        f.path
        for f in schema.fields
        if f.type == "geopoint" and f.repeat is None and (special or f.sensitive != "special")
    ]
    where = filter_clauses(principal, project_id, form, filters)
    total = session.scalar(select(func.count()).select_from(Submission).where(*where)) or 0
    points: list[MapPoint] = []
    if paths:
        rows = session.execute(
            select(
                Submission.instance_id,
                Submission.review_state,
                SubmissionVersion.xml,
                SubmissionVersion.instance_name,
            )
            .join(
                SubmissionVersion,
                (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
            )
            .where(*where, SubmissionVersion.encrypted_key.is_(None))
            .order_by(Submission.id.desc())
            .limit(MAP_LIMIT)
        )
        for instance_id, state, xml, name in rows:
            point = _first_point(forms.read_instance(xml).root, paths)
            if point is not None:
                points.append(MapPoint(instance_id, name or instance_id, *point, state))
    audit.record(
        session,
        principal.actor_id,
        "submission.map.read",
        "form",
        form.id,
        {"xmlFormId": xml_form_id, "points": len(points)},
    )
    return points, total


def _first_point(root, paths: list[str]) -> tuple[float, float] | None:
    for path in paths:
        node = root
        for name in path.strip("/").split("/")[1:]:
            node = next((c for c in node if isinstance(c.tag, str) and local(c.tag) == name), None)
            if node is None:
                break
        if node is None or not (node.text or "").strip():
            continue
        parts = node.text.split()
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    return None


# --- Central's GeoJSON ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GeoPlan:
    form_id: int
    field: Field | None
    where: list
    limit: int | None


def plan_geojson(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    odata_filter: str | None,
    fieldpath: str | None,
    limit: int | None,
) -> GeoPlan:
    """Which question and rows the GeoJSON holds (``fieldpath`` as Central takes it, a path
    without the root, or the first geo question outside a repeat); audits the export."""
    require(principal, "submission.read", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    version = session.get(FormVersion, form.current_version_id or form.draft_version_id)
    schema = form_service.schema_of(session, version)
    root = f"/{schema.root_name}"
    candidates = [f for f in schema.fields if f.type in GEO_TYPES and f.repeat is None]
    if fieldpath is not None:
        wanted = "/" + fieldpath.strip("/")
        field = next((f for f in candidates if f.path in (wanted, f"{root}{wanted}")), None)
        if field is None:
            raise MissingParameter(f"'{fieldpath}' is not a geo question of this form.")
    else:
        field = candidates[0] if candidates else None
    special = can(principal, SPECIAL_VERB, project_id)
    hidden = field is not None and field.sensitive == "special" and not special
    where = filter_clauses(principal, project_id, form, SubmissionFilters())
    if odata_filter:
        where.append(odata.filter_clause(odata_filter, odata.SUBMISSION_FIELDS))
    audit.record(
        session,
        principal.actor_id,
        "submission.export",
        "form",
        form.id,
        {
            "xmlFormId": xml_form_id,
            "format": "geojson",
            "fieldpath": field.path if field else None,
            "specialCategory": "omitted" if hidden else "included",
            **({"$filter": odata_filter} if odata_filter else {}),
        },
    )
    return GeoPlan(form.id, None if hidden else field, where, limit)


def geojson_chunks(session: Session, plan: GeoPlan) -> Iterator[str]:
    """``{"type": "FeatureCollection", "features": [...]}`` one feature at a time: each with
    the submission's instanceID as ``id``, a Point, LineString or Polygon in GeoJSON's
    [lon, lat(, alt)] order, and ``properties.fieldpath``; answers that are not valid
    coordinates are left out, as Central does."""
    yield '{"type":"FeatureCollection","features":['
    if plan.field is None:
        yield "]}"
        return
    path = plan.field.path.strip("/").split("/")[1:]
    fieldpath = "/" + "/".join(path)
    first, last, sent = True, 0, 0
    while plan.limit is None or sent < plan.limit:
        batch = session.execute(
            select(Submission.id, Submission.instance_id, SubmissionVersion.xml)
            .join(
                SubmissionVersion,
                (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
            )
            .where(*plan.where, SubmissionVersion.encrypted_key.is_(None), Submission.id > last)
            .order_by(Submission.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            break
        for _id, instance_id, xml in batch:
            geometry = _geometry(plan.field.type, _text_at(parse(xml), path))
            if geometry is None:
                continue
            feature = {
                "type": "Feature",
                "id": instance_id,
                "geometry": geometry,
                "properties": {"fieldpath": fieldpath},
            }
            yield ("" if first else ",") + json.dumps(feature, ensure_ascii=False)
            first = False
            sent += 1
            if plan.limit is not None and sent >= plan.limit:
                break
        last = batch[-1][0]
    yield "]}"


def _text_at(root, path: list[str]) -> str | None:
    node = root
    for name in path:
        node = next((c for c in node if isinstance(c.tag, str) and local(c.tag) == name), None)
        if node is None:
            return None
    return node.text


def _position(text: str) -> list[float] | None:
    parts = text.split()
    try:
        lat, lon = float(parts[0]), float(parts[1])
        alt = float(parts[2]) if len(parts) > 2 else None
    except (ValueError, IndexError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return [lon, lat] if alt is None else [lon, lat, alt]


def _geometry(kind: str, text: str | None) -> dict | None:
    if not text or not text.strip():
        return None
    if kind == "geopoint":
        point = _position(text)
        return None if point is None else {"type": "Point", "coordinates": point}
    points = [_position(p) for p in text.split(";") if p.strip()]
    if not points or any(p is None for p in points):
        return None
    if kind == "geotrace":
        return {"type": "LineString", "coordinates": points} if len(points) >= 2 else None
    if points[0] != points[-1]:
        points.append(points[0])
    return {"type": "Polygon", "coordinates": [points]} if len(points) >= 4 else None
