"""Read an XForm: id, version, title, fields with labels per language, choices, repeats,
binary fields, expected media, entity declarations and the encryption key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from forms.errors import FormError, XmlError
from forms.xml import local, parse

XF = "http://www.w3.org/2002/xforms"
H = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"
ENTITIES = "http://www.opendatakit.org/xforms/entities"
#: Our XLSForm column `bind::dh:sensitive` (settings: namespaces `dh="https://donghanh.vn/xforms"`)
#: marks an answer `identifying` (names, phone, ID, GPS, photos) or `special` (health, drug
#: use, sex work: domain.md 6.2). Forwarding drops or hashes them per target.
DONGHANH = "https://donghanh.vn/xforms"
SENSITIVITY = ("identifying", "special")
_ITEXT = re.compile(r"jr:itext\(\s*'([^']*)'\s*\)")
_JR_FILE = re.compile(r"jr://(?:file|file-csv|images|audio|video)/([^\s'\"]+)")
_SEARCH = re.compile(r"search\s*\(\s*[\"']([^\"']+)[\"']")
_CONTROLS = {"input", "select1", "select", "upload", "range", "rank", "trigger", "odk:rank"}
_MEDIA_FORMS = {"image": "image", "big-image": "image", "audio": "audio", "video": "video"}


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class Field:
    """A node of the primary instance that holds an answer (or a group/repeat)."""

    path: str  # absolute, e.g. /data/hdr/ngay
    name: str
    type: str  # bind type: string, int, decimal, date, binary, geopoint, ... or group/repeat
    control: str | None  # input, select1, select, upload, ... (None for calculates)
    labels: dict[str, str] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    repeat: str | None = None  # path of the nearest enclosing repeat
    saveto: str | None = None
    sensitive: str | None = None  # None | "identifying" | "special"


@dataclass(frozen=True, slots=True)
class MediaFile:
    name: str
    type: str  # image | audio | video | file


@dataclass(frozen=True, slots=True)
class EntityDeclaration:
    dataset: str
    create: bool
    update: bool


@dataclass(frozen=True, slots=True)
class FormSchema:
    form_id: str
    version: str
    title: str
    root_name: str
    fields: tuple[Field, ...]
    media: tuple[MediaFile, ...]
    entities: tuple[EntityDeclaration, ...]
    public_key: str | None
    languages: tuple[str, ...]

    @property
    def repeats(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.fields if f.type == "repeat")

    @property
    def binary_paths(self) -> tuple[str, ...]:
        """Paths of fields whose answer is a file name (photos, audio, ...)."""
        return tuple(f.path for f in self.fields if f.type == "binary")

    def field(self, path: str) -> Field | None:
        return next((f for f in self.fields if f.path == path), None)


def read_xform(xml: bytes) -> FormSchema:
    """Read an XForm's exact bytes into a FormSchema; raise FormError if it is not an XForm."""
    try:
        root = parse(xml)
    except XmlError as e:
        raise FormError(str(e)) from None
    head = root.find(f"{{{H}}}head")
    model = head.find(f"{{{XF}}}model") if head is not None else None
    instance = model.find(f"{{{XF}}}instance") if model is not None else None
    data = (
        next((c for c in instance if isinstance(c.tag, str)), None)
        if instance is not None
        else None
    )
    if data is None:
        raise FormError("This is not an XForm: no h:head/model/instance with a root element.")
    form_id = data.get("id")
    if not form_id:
        raise FormError("The XForm's instance root has no id attribute (the form id).")
    title_el = head.find(f"{{{H}}}title")
    itext, languages = _read_itext(model)
    binds = {b.get("nodeset"): b for b in model.iter(f"{{{XF}}}bind")}
    controls = _read_body(root.find(f"{{{H}}}body"), itext, model)
    fields = tuple(_walk_instance(data, f"/{local(data.tag)}", None, binds, controls))
    submission = model.find(f"{{{XF}}}submission")
    return FormSchema(
        form_id=form_id,
        version=data.get("version") or "",
        title=(title_el.text or "").strip() if title_el is not None and title_el.text else form_id,
        root_name=local(data.tag),
        fields=fields,
        media=_expected_media(model, root),
        entities=_read_entities(data),
        public_key=submission.get("base64RsaPublicKey") if submission is not None else None,
        languages=languages,
    )


def _read_itext(model: etree._Element) -> tuple[dict[str, dict[str, str]], tuple[str, ...]]:
    texts: dict[str, dict[str, str]] = {}
    languages = []
    itext = model.find(f"{{{XF}}}itext")
    if itext is None:
        return texts, ()
    for translation in itext.findall(f"{{{XF}}}translation"):
        lang = translation.get("lang") or ""
        languages.append(lang)
        for text in translation.findall(f"{{{XF}}}text"):
            for value in text.findall(f"{{{XF}}}value"):
                if value.get("form") in (None, "long", "short"):
                    content = _text_with_outputs(value)
                    if lang == "default" and content == "-":  # pyxform's filler, not a label
                        continue
                    texts.setdefault(text.get("id"), {})[lang] = content
    return texts, tuple(languages)


def _label(el: etree._Element | None, itext: dict[str, dict[str, str]], lookup: str | None = None):
    if el is None:
        return {}
    ref = el.get("ref") or ""
    if m := _ITEXT.fullmatch(ref.strip()):
        return dict(itext.get(m.group(1), {}))
    if lookup is not None:
        return dict(itext.get(lookup, {}))
    text = _text_with_outputs(el)
    return {"": text} if text else {}


def _text_with_outputs(el: etree._Element) -> str:
    """A label's text, each <output value="/data/x"/> written as ${x} (what the XLSForm said),
    so that a label never reads with a hole where an answer goes."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and local(child.tag) == "output":
            ref = (child.get("value") or "").strip()
            parts.append("${" + ref.rstrip("/ ").rsplit("/", 1)[-1].strip() + "}" if ref else "")
        elif isinstance(child.tag, str):
            parts.append(_text_with_outputs(child))
        parts.append(child.tail or "")
    return "".join(parts).strip()


def _read_body(body, itext, model) -> dict[str, tuple[str, dict, tuple[Choice, ...]]]:
    """Map each ref/nodeset in the body to (control, labels, choices)."""
    found: dict[str, tuple[str, dict, tuple[Choice, ...]]] = {}
    if body is None:
        return found
    for el in body.iter():
        name = local(el.tag)
        ref = el.get("ref") or el.get("nodeset")
        if not ref or name not in _CONTROLS | {"group", "repeat"}:
            continue
        label = _label(el.find(f"{{{XF}}}label"), itext)
        if name == "repeat" and not label and ref in found:
            label = found[ref][1]
        found[ref] = (name, label, _choices(el, itext, model))
    return found


def _choices(el, itext, model) -> tuple[Choice, ...]:
    items = []
    for item in el.findall(f"{{{XF}}}item"):
        value = item.find(f"{{{XF}}}value")
        items.append(
            Choice(
                (value.text or "") if value is not None else "",
                _label(item.find(f"{{{XF}}}label"), itext),
            )
        )
    itemset = el.find(f"{{{XF}}}itemset")
    if itemset is not None:
        m = re.match(r"instance\('([^']+)'\)/root/item", itemset.get("nodeset") or "")
        secondary = m and next(
            (i for i in model.findall(f"{{{XF}}}instance") if i.get("id") == m.group(1)), None
        )
        if secondary is not None:
            value_ref = itemset.find(f"{{{XF}}}value").get("ref", "name")
            for item in secondary.iter(f"{{{XF}}}item"):
                value = item.findtext(f"{{{XF}}}{value_ref}") or ""
                text_id = item.findtext(f"{{{XF}}}itextId")
                labels = (
                    dict(itext.get(text_id, {}))
                    if text_id
                    else {"": item.findtext(f"{{{XF}}}label") or value}
                )
                items.append(Choice(value, labels))
    return tuple(items)


def _walk_instance(node, path, repeat, binds, controls):
    seen = set()
    for child in node:
        if not isinstance(child.tag, str):
            continue
        child_path = f"{path}/{local(child.tag)}"
        if child_path in seen:  # pyxform writes a template and a first repeat instance
            continue
        seen.add(child_path)
        control, labels, choices = controls.get(child_path, (None, {}, ()))
        bind = binds.get(child_path)
        is_repeat = child.get(f"{{{JR}}}template") is not None or control == "repeat"
        has_children = any(isinstance(c.tag, str) for c in child)
        if is_repeat or has_children:
            kind = "repeat" if is_repeat else "group"
            yield Field(child_path, local(child.tag), kind, kind, labels, (), repeat)
            yield from _walk_instance(
                child, child_path, child_path if is_repeat else repeat, binds, controls
            )
            continue
        bind_type = (bind.get("type") if bind is not None else None) or "string"
        yield Field(
            path=child_path,
            name=local(child.tag),
            type=bind_type.split(":")[-1],
            control=control,
            labels=labels,
            choices=choices,
            repeat=repeat,
            saveto=bind.get(f"{{{ENTITIES}}}saveto") if bind is not None else None,
            sensitive=_sensitivity(bind, child_path),
        )


def _sensitivity(bind, path: str) -> str | None:
    value = (bind.get(f"{{{DONGHANH}}}sensitive") or "").strip().lower() if bind is not None else ""
    if not value or value in ("no", "false"):
        return None
    if value not in SENSITIVITY:
        raise FormError(
            f"{path}: dh:sensitive must be one of {', '.join(SENSITIVITY)}, not '{value}'."
        )
    return value


def _expected_media(model, root) -> tuple[MediaFile, ...]:
    found: dict[str, str] = {}
    for inst in model.findall(f"{{{XF}}}instance"):
        if (src := inst.get("src")) and (m := _JR_FILE.match(src)):
            found.setdefault(m.group(1), "file")
    itext = model.find(f"{{{XF}}}itext")
    if itext is not None:
        for value in itext.iter(f"{{{XF}}}value"):
            form = value.get("form")
            if form in _MEDIA_FORMS and value.text and (m := _JR_FILE.match(value.text.strip())):
                found.setdefault(m.group(1), _MEDIA_FORMS[form])
    instances = model.findall(f"{{{XF}}}instance")
    if instances:  # defaults in the primary instance, e.g. a default image jr://images/x.png
        for el in instances[0].iter():
            text = (el.text or "").strip() if isinstance(el.tag, str) else ""
            if text.startswith("jr://") and (m := _JR_FILE.fullmatch(text)):
                kind = text[5:].split("/", 1)[0]
                found.setdefault(
                    m.group(1),
                    {"images": "image", "audio": "audio", "video": "video"}.get(kind, "file"),
                )
    for el in root.iter(f"{{{XF}}}input"):
        if el.get("query"):
            found.setdefault("itemsets.csv", "file")
    for el in root.iter():  # search('name') appearances read name.csv (Central's rule)
        if m := _SEARCH.search(el.get("appearance") or ""):
            name = m.group(1).strip()
            found.setdefault(name if name.lower().endswith(".csv") else f"{name}.csv", "file")
    return tuple(MediaFile(name, kind) for name, kind in found.items())


def _read_entities(data) -> tuple[EntityDeclaration, ...]:
    out = []
    for entity in data.iter():
        if local(entity.tag) == "entity" and entity.get("dataset"):
            out.append(
                EntityDeclaration(
                    entity.get("dataset"),
                    entity.get("create") is not None,
                    entity.get("update") is not None,
                )
            )
    return tuple(out)
