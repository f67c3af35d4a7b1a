"""Readable entity lists (the clients and referrals followed on the phones): chosen columns,
sort, filters by property value (status, model, service, ward, a date range) and a search
that also finds a ward by its name, counted and paged by the database in the caller's wards;
every value as its label (the forms' choices and field labels, ward and facility names,
dd/mm/yyyy), never a raw property name or code.

Property labels come from the programme's XLSForms: the field whose ``save_to`` names the
property gives its label and its choice list; the forms' calculated properties have their
words here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from forms import answers
from server.auth.permissions import Principal, require
from server.errors import UnexpectedValue
from server.models.entities import Dataset, Entity
from server.services import audit, entities, entity_api, paging, places
from server.services import indicator_words as words

PAGE = 50
#: The forms whose fields save to each list's properties, in the order their labels win.
SOURCES = {
    "clients": ("f1_dang_ky", "f2_gap_go", "f5_tham_nha", "f7_cap_nhat"),
    "referrals": ("f3_chuyen_gui", "f4_ket_qua_cg"),
}
#: Calculated properties (no label in the forms), Vietnamese then English.
CALCULATED = {
    "uic": ("Mã khách hàng", "Client code"),
    "nam_sinh": ("Năm sinh", "Birth year"),
    "trang_thai": ("Tình trạng", "Status"),
    "so_lan_tiep_xuc": ("Số lần tiếp xúc", "Contacts"),
    "ngay_tiep_xuc_cuoi": ("Lần tiếp xúc cuối", "Last contact"),
    "so_lan_tham": ("Số lần thăm", "Home visits"),
    "ngay_tham_cuoi": ("Lần thăm cuối", "Last home visit"),
    "ma_phieu": ("Mã phiếu", "Slip number"),
    "ngay_chuyen": ("Ngày chuyển gửi", "Date referred"),
    "ma_xa": ("Xã/Phường/Đặc khu", "Commune/ward"),
    "gop_vao": ("Gộp vào hồ sơ", "Merged into"),
}
#: The status values of each list (calculated by the forms: no choice list).
STATUS = words.STATUS_WORDS
#: The columns shown when none are chosen, and the filters and date a list offers.
DEFAULT_COLUMNS = {
    "clients": ("ma_xa", "gioi", "nam_sinh", "mo_hinh", "trang_thai", "ngay_tiep_xuc_cuoi"),
    "referrals": ("ma_xa", "dich_vu", "co_so", "ngay_chuyen", "han", "trang_thai"),
}
FILTERS = {
    "clients": ("trang_thai", "mo_hinh", "nhom", "sau_cai"),
    "referrals": ("trang_thai", "dich_vu", "mo_hinh"),
}
DATES = {
    "clients": ("ngay_dk", "ngay_tiep_xuc_cuoi", "ngay_tham_cuoi", "ngay_hen"),
    "referrals": ("ngay_chuyen", "han", "ngay_ket_qua", "ngay_dv"),
}
_MULTIPLE = "multiple"


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    vi: str
    en: str
    choices: str | None  # the choice list, "wards", "facilities", "clients", or None
    kind: str  # "one" | "multiple" | "date" | "text"
    sensitive: str | None = None  # the saving field's dh:sensitive; "special" is folded

    def label(self, language: str) -> str:
        return self.en if language == "en" else self.vi


@functools.cache
def _survey_properties(dataset: str) -> dict[str, Property]:
    found: dict[str, Property] = {}
    for form in SOURCES.get(dataset, ()):
        book = load_workbook(words.XLSFORMS / f"{form}.xlsx", read_only=True)
        rows = book["survey"].iter_rows(values_only=True)
        header = [str(h or "") for h in next(rows)]
        at = {h: i for i, h in enumerate(header)}
        vi = next(i for h, i in at.items() if h.startswith("label") and "(vi)" in h)
        en = next(i for h, i in at.items() if h.startswith("label") and "(en)" in h)
        marked = at.get("bind::dh:sensitive")
        for row in rows:
            saved = row[at["save_to"]] if row and len(row) > at["save_to"] else None
            if not saved or saved in found:
                continue
            kind_word, _, rest = str(row[0] or "").partition(" ")
            choices, kind = None, "text"
            if kind_word in ("select_one", "select_multiple"):
                choices, kind = rest.strip(), ("one" if kind_word == "select_one" else _MULTIPLE)
            elif kind_word.startswith("select_one_from_file"):
                choices, kind = rest.strip().removesuffix(".csv"), "one"
            elif kind_word == "date":
                kind = "date"
            label_vi, label_en = row[vi], row[en]
            if not label_vi or saved in CALCULATED:
                label_vi, label_en = CALCULATED.get(saved, (saved, saved))
            sensitive = row[marked] if marked is not None and len(row) > marked else None
            found[saved] = Property(
                saved, str(label_vi), str(label_en or label_vi), choices, kind,
                str(sensitive).strip().lower() if sensitive else None,
            )  # fmt: skip
        book.close()
    for name in ("ngay_chuyen", "ngay_tiep_xuc_cuoi", "ngay_tham_cuoi"):
        if name in found:
            found[name] = replace(found[name], choices=None, kind="date")
    if "trang_thai" in found:
        found["trang_thai"] = Property("trang_thai", *CALCULATED["trang_thai"], "status", "one")
    return found


def sensitivity(dataset: str, name: str) -> str | None:
    """How sensitive a list's property is (its saving field's dh:sensitive)."""
    found = _survey_properties(dataset).get(name)
    return found.sensitive if found else None


def properties(dataset: str, names: list[str]) -> list[Property]:
    """The list's properties with their labels, in the list's own order."""
    known = _survey_properties(dataset)
    return [known.get(n) or _unlabelled(n) for n in names]


def _unlabelled(name: str) -> Property:
    """A property no programme form saves to: its calculated words, a date by its name."""
    kind = "date" if name.startswith("ngay_") or name in ("han", "qlsc_bat_dau") else "text"
    choices = "wards" if name == "ma_xa" else None
    return Property(name, *CALCULATED.get(name, (name, name)), choices, kind)


def value_text(
    dataset: str, prop: Property, value: str | None, language: str, sites: dict[str, str]
) -> str:
    """One value as its reader says it: a choice's label, a ward's or facility's name, a
    status, a date as dd/mm/yyyy; empty for no value."""
    if value in (None, ""):
        return ""
    if prop.choices == "status":
        vi, en = STATUS.get(dataset, {}).get(value, (value, value))
        return en if language == "en" else vi
    if prop.choices == "wards":
        return words.place_name(value)
    if prop.choices == "facilities":
        return sites.get(value, value)
    if prop.kind == "date":
        try:
            return words.day_text(date.fromisoformat(value[:10]))
        except ValueError:
            return value
    if prop.kind == _MULTIPLE and prop.choices:
        return ", ".join(words.choice_label(prop.choices, v, language) for v in value.split())
    if prop.choices and prop.choices != "clients":
        return words.choice_label(prop.choices, value, language)
    return value


@dataclass(frozen=True, slots=True)
class Query:
    """What a list page asks: columns, sort, filters (property -> value), a date range on one
    date property, a search text and the page."""

    columns: tuple[str, ...] = ()
    sort: str | None = None
    descending: bool = False
    filters: tuple[tuple[str, str], ...] = ()
    ward: str | None = None
    date_field: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Row:
    uuid: str
    label: str
    values: list[str]  # the chosen columns' texts
    conflict: str | None = None  # Central's "soft"/"hard": updates made from an old version
    version: int = 1


@dataclass(frozen=True, slots=True)
class ListPage:
    dataset: Dataset
    columns: list[Property]
    rows: list[Row]
    total: int
    query: Query
    filters: list[tuple[Property, list[tuple[str, str]]]]  # each filter's (value, label)
    dates: list[Property]
    all_columns: list[Property]


def _prop(name: str):
    return Entity.data[name].as_string()


def readable_page(
    session: Session,
    principal: Principal,
    project_id: int,
    name: str,
    query: Query,
    language: str,
    page_size: int = PAGE,
) -> ListPage:
    """One page of the list, filtered and sorted by the database in the caller's wards, with
    labels; the look is audited (as the bare list's was)."""
    require(principal, "entity.read", project_id)
    paging.check(query.offset, "offset")
    dataset = entity_api.get_dataset(session, principal, project_id, name)
    names = entities.properties_of(session, dataset.id)
    every = properties(name, names)
    by_name = {p.name: p for p in every}
    chosen = [c for c in query.columns if c in by_name] or [
        c for c in DEFAULT_COLUMNS.get(name, names[:6]) if c in by_name
    ]
    where = entities.live_in_scope(session, principal, dataset)
    where += _conditions(query, by_name, dataset)
    total = int(session.scalar(select(func.count(Entity.id)).where(*where)) or 0)
    order = [Entity.id.desc() if query.descending else Entity.id]
    if query.sort in by_name:
        key = func.coalesce(_prop(query.sort), "")
        order.insert(0, key.desc() if query.descending else key)
    found = session.execute(
        select(Entity.uuid, Entity.label, Entity.data, Entity.conflict, Entity.version)
        .where(*where)
        .order_by(*order)
        .offset(query.offset)
        .limit(page_size)
    ).all()
    sites = {p.code: p.name for p in places.facilities(session, project_id)}
    columns = [by_name[c] for c in chosen]
    rows = [
        Row(
            uuid,
            label,
            [value_text(name, c, (data or {}).get(c.name), language, sites) for c in columns],
            conflict,
            version,
        )
        for uuid, label, data, conflict, version in found
    ]
    audit.record(
        session,
        principal.actor_id,
        "entity.list.read",
        "dataset",
        dataset.id,
        {"count": len(rows), **({"search": True} if query.text else {})},
    )
    offered = [
        (by_name[f], _options(name, by_name[f], language))
        for f in FILTERS.get(name, ())
        if f in by_name
    ]
    dates = [by_name[d] for d in DATES.get(name, ()) if d in by_name]
    return ListPage(dataset, columns, rows, total, query, offered, dates, every)


def _options(dataset: str, prop: Property, language: str) -> list[tuple[str, str]]:
    if prop.choices == "status":
        return [(v, value_text(dataset, prop, v, language, {})) for v in STATUS.get(dataset, {})]
    return words.choices(prop.choices, language) if prop.choices else []


def _conditions(query: Query, by_name: dict[str, Property], dataset: Dataset) -> list:
    out = []
    for name, value in query.filters:
        prop = by_name.get(name)
        if prop is None or not value:
            raise UnexpectedValue(f"The list has no property '{name}' to filter by.", field=name)
        if prop.kind == _MULTIPLE:  # space-separated choices: one of them
            padded = literal(" ").concat(func.coalesce(_prop(name), "")).concat(" ")
            out.append(padded.like(f"% {value} %"))
        else:
            out.append(_prop(name) == value)
    if query.ward and dataset.scope_property:
        out.append(_prop(dataset.scope_property) == query.ward)
    if query.date_field and (query.date_from or query.date_to):
        prop = by_name.get(query.date_field)
        if prop is None or prop.kind != "date":
            raise UnexpectedValue(
                f"'{query.date_field}' is not a date of this list.", field="date_field"
            )
        field = func.substr(func.coalesce(_prop(prop.name), ""), 1, 10)
        if query.date_from:
            out.append(field >= query.date_from.isoformat())
        if query.date_to:
            out += [field <= query.date_to.isoformat(), field != ""]
    text = answers.fold(query.text or "").strip()
    if text:
        out.append(_search(text, dataset))
    return out


def _search(text: str, dataset: Dataset):
    """A label containing the text (case and diacritics aside), or a ward whose name does."""
    wards = [p.code for p in places.wards() if text in answers.fold(p.name)]
    held = [func.lower(Entity.label).like(f"%{_escape(text)}%", escape="\\")]
    if wards and dataset.scope_property:
        held.append(_prop(dataset.scope_property).in_(wards))
    return or_(*held)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
