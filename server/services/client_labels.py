"""The words of the client and referral pages in the reader's language: a property's label and
value taken from the programme forms that save it (the question's label, the choice's label,
the ward's name, the linked entity's label), dates as dd/mm/yyyy, and the few words no form
carries (the values of calculated properties such as a record's status). Reads the current
published version of each programme form; never touches Flask."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from forms.xform import Field, FormSchema
from server.models.forms import Form, FormVersion
from server.models.indicators import PROGRAMME_FORMS
from server.services import forms as form_service
from server.services import places
from server.services.indicator_words import STATUS_WORDS
from server.services.submissions import pick_label

#: Where a property's question is asked first: the registration, then the forms that update.
CLIENT_SOURCES = ("f1_dang_ky", "f7_cap_nhat", "f5_tham_nha", "f2_gap_go")
REFERRAL_SOURCES = ("f3_chuyen_gui", "f4_ket_qua_cg")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Properties written by a calculation, which has no label in any form: (vi, en).
_PROPERTY_WORDS = {
    "uic": ("Mã khách hàng (UIC)", "Client code (UIC)"),
    "nam_sinh": ("Năm sinh", "Birth year"),
    "trang_thai": ("Tình trạng hồ sơ", "Record status"),
    "so_lan_tiep_xuc": ("Số lần tiếp xúc", "Contacts so far"),
    "ngay_tiep_xuc_cuoi": ("Ngày tiếp xúc gần nhất", "Last contact"),
    "so_lan_tham": ("Số lần thăm", "Visits so far"),
    "ngay_tham_cuoi": ("Ngày thăm gần nhất", "Last visit"),
    "kh_id": ("Khách hàng", "Client"),
    "ngay_chuyen": ("Ngày chuyển gửi", "Referral date"),
    "ma_phieu": ("Mã phiếu chuyển gửi", "Referral slip number"),
}
_REFERRAL_WORDS = {"trang_thai": ("Tình trạng chuyển gửi", "Referral status")}
#: The values of calculated statuses (domain.md 6.1): a client's, then a referral's.
_STATUS_WORDS = STATUS_WORDS


def day_text(value: date | str | None) -> str:
    """A date as Vietnamese write it, dd/mm/yyyy (the same in English pages)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        if not _ISO_DAY.match(value[:10]):
            return value
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def _pick(words: tuple[str, str], language: str) -> str:
    return words[1] if language == "en" else words[0]


#: What a page says for a client it names but the caller may not open (another ward's).
_UNSEEN = ("một hồ sơ bạn không được xem", "a record you cannot open")


@dataclass(frozen=True, slots=True)
class ShownProperty:
    """One property of a client or referral as a page shows it."""

    name: str
    label: str
    value: str
    raw: str
    sensitive: str | None  # "special" is folded, as on the submission page
    link: str | None = None  # the uuid of a linked client (kh_id, gop_vao)


class Vocabulary:
    """The programme forms of one project (their current versions) read in one language."""

    def __init__(self, session: Session, project_id: int, language: str):
        self.language = language
        self.schemas: dict[str, FormSchema] = {}
        self.titles: dict[str, str] = {}
        rows = session.execute(
            select(Form.xml_form_id, FormVersion)
            .join(FormVersion, FormVersion.id == Form.current_version_id)
            .options(defer(FormVersion.xml))  # loaded only when the schema is not cached
            .where(Form.project_id == project_id, Form.xml_form_id.in_(PROGRAMME_FORMS))
        ).all()
        for xml_form_id, version in rows:
            self.schemas[xml_form_id] = form_service.schema_of(session, version)
            self.titles[xml_form_id] = version.title
        self._wards = {p.code: p.name for p in places.wards()}

    def field(self, xml_form_id: str, name: str) -> Field | None:
        schema = self.schemas.get(xml_form_id)
        if schema is None:
            return None
        return next((f for f in schema.fields if f.name == name), None)

    def question(self, xml_form_id: str, name: str) -> str:
        field = self.field(xml_form_id, name)
        return pick_label(field.labels, self.language, name) if field else name

    def choice(self, xml_form_id: str, name: str, value: str | None) -> str:
        """The label of a select's answer (each of a multiple select's, comma separated)."""
        if not value:
            return ""
        field = self.field(xml_form_id, name)
        return self._shown(field, value) if field else value

    def ward(self, code: str | None) -> str:
        return self._wards.get(code or "", code or "")

    def _shown(self, field: Field, value: str) -> str:
        if field.choices:
            by_value = {c.value: c.labels for c in field.choices}
            values = value.split() if field.control == "select" else [value]
            return ", ".join(
                pick_label(by_value[v], self.language, v) if v in by_value else v for v in values
            )
        return value

    def _source(self, prop: str, sources: tuple[str, ...]) -> Field | None:
        """The first field of ``sources`` that saves to ``prop``, preferring one a person
        answers (it has a label) over a calculation."""
        found = [
            f
            for form in sources
            for f in (self.schemas[form].fields if form in self.schemas else ())
            if f.saveto == prop
        ]
        return next((f for f in found if f.labels), found[0] if found else None)

    def properties(
        self,
        dataset: str,
        names: list[str],
        data: dict[str, str],
        linked: dict[str, str],
    ) -> list[ShownProperty]:
        """The entity's non-empty properties in the list's order, with labels; ``linked``
        gives the labels of entities and facilities a value names (uuid or code -> label)."""
        sources = CLIENT_SOURCES if dataset == "clients" else REFERRAL_SOURCES
        out = []
        for name in names:
            raw = (data.get(name) or "").strip()
            if not raw:
                continue
            field = self._source(name, sources)
            if field is not None and field.labels:
                label = pick_label(field.labels, self.language, name)
            else:
                words = _REFERRAL_WORDS if dataset == "referrals" else {}
                label = _pick(
                    words.get(name) or _PROPERTY_WORDS.get(name, (name, name)), self.language
                )
            link = raw if name in ("kh_id", "gop_vao") else None
            if link and link not in linked:  # another ward's client: named by no one here
                value, raw, link = _pick(_UNSEEN, self.language), "", None
            else:
                value = self._value(dataset, name, raw, field, linked)
            out.append(
                ShownProperty(
                    name, label, value, raw, field.sensitive if field is not None else None, link
                )
            )
        return out

    def _value(
        self, dataset: str, name: str, raw: str, field: Field | None, linked: dict[str, str]
    ) -> str:
        if name == "trang_thai":
            words = _STATUS_WORDS.get(dataset, {}).get(raw)
            return _pick(words, self.language) if words else raw
        if name == "ma_xa":
            return self.ward(raw)
        if raw in linked:
            return linked[raw]
        if field is not None and field.choices:
            return self._shown(field, raw)
        if _ISO_DAY.match(raw[:10]):
            return day_text(raw)
        return raw
