"""ODK Central's OData shape of a form's submissions (pure): the tables (Submissions and one
per repeat), each submission's rows in every table, and the EDMX metadata document that
Excel, Power BI and pyodk's ``get_table`` read first.

Rows follow Central: ``__id`` (the submission's instanceID, or a hash for a repeat row),
groups as nested objects, a repeat as ``name@odata.navigationLink``, a repeat row's parent in
``__Submissions-id`` (or ``__Submissions.parent-id`` when nested), numbers as numbers,
selects as space-separated text, geopoints as GeoJSON or, with ``$wkt=true``, as WKT.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote

from lxml import etree

from forms.answers import typed
from forms.xform import Field, FormSchema
from forms.xml import local

SUBMISSIONS = "Submissions"
EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
SYSTEM_TYPE = "org.opendatakit.submission.metadata"
#: __system's fields and their EDM types, in Central's order.
SYSTEM_FIELDS = (
    ("submissionDate", "Edm.DateTimeOffset"),
    ("updatedAt", "Edm.DateTimeOffset"),
    ("submitterId", "Edm.String"),
    ("submitterName", "Edm.String"),
    ("attachmentsPresent", "Edm.Int64"),
    ("attachmentsExpected", "Edm.Int64"),
    ("status", "Edm.String"),
    ("reviewState", "Edm.String"),
    ("deviceId", "Edm.String"),
    ("edits", "Edm.Int64"),
    ("formVersion", "Edm.String"),
)
EDM_TYPES = {
    "int": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "date": "Edm.Date",
    "dateTime": "Edm.DateTimeOffset",
    "geopoint": "Edm.GeographyPoint",
    "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon",
}


def odata_name(name: str) -> str:
    """A property name OData accepts (Central replaces what is not a letter, digit or _)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # Submissions, Submissions.lan_gap, Submissions.lan_gap.con
    path: str  # the root's path, or the repeat's
    parent: str | None  # the parent table's name


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


def tables(schema: FormSchema) -> list[Table]:
    """Submissions, then one table per repeat, named by the repeat's path below the root."""
    root = f"/{schema.root_name}"
    out = [Table(SUBMISSIONS, root, None)]
    by_path = {root: SUBMISSIONS}
    for field in schema.fields:
        if field.type != "repeat":
            continue
        below = field.path[len(root) + 1 :].split("/")
        name = ".".join([SUBMISSIONS, *(odata_name(seg) for seg in below)])
        by_path[field.path] = name
        parent = by_path[field.repeat] if field.repeat else SUBMISSIONS
        out.append(Table(name, field.path, parent))
    return out


class _Layout:
    """The schema's fields by parent path, in form order."""

    def __init__(self, schema: FormSchema):
        self.children: dict[str, list[Field]] = {}
        for field in schema.fields:
            self.children.setdefault(_parent(field.path), []).append(field)
        self.tables = {t.path: t for t in tables(schema)}
        self.expand = False  # $expand=*: repeats inline too (explode)


def columns(schema: FormSchema, table: Table) -> list[str]:
    """The top-level property names of a table's rows (what $select may name)."""
    layout = _Layout(schema)
    names = ["__id", *(odata_name(f.name) for f in layout.children.get(table.path, ()))]
    if table.parent is None:
        return [*names, "__system"]
    return [*names, _parent_key(table.parent)]


def select_paths(schema: FormSchema, table: Table) -> set[str]:
    """Every path $select may name in a table, as Central allows: a top-level property, a
    group or a field inside groups (``meta/instanceID``, ``grp/sub/field``) and, in the
    Submissions table, ``__system/<field>``."""
    layout = _Layout(schema)
    paths = set(columns(schema, table))

    def walk(path: str, prefix: str) -> None:
        for field in layout.children.get(path, ()):
            if field.type == "group":
                name = f"{prefix}{odata_name(field.name)}"
                paths.add(name)
                walk(field.path, f"{name}/")
            elif field.type != "repeat" and prefix:
                paths.add(f"{prefix}{odata_name(field.name)}")

    walk(table.path, "")
    if table.parent is None:
        paths.update(f"__system/{name}" for name, _type in SYSTEM_FIELDS)
    return paths


def select_row(row: dict, paths: list[str]) -> dict:
    """The parts of a row that $select's paths name (``__id`` is always kept), nested as in
    the row: ``meta/instanceID`` gives ``{"meta": {"instanceID": ...}}``. A repeat's
    navigation link is kept with its name."""
    return {"__id": row.get("__id"), **_pick(row, paths)}


def _pick(values: dict, paths: list[str]) -> dict:
    out: dict = {}
    for path in paths:
        head, _, rest = path.partition("/")
        if not rest:
            out.update({k: v for k, v in values.items() if k.split("@", 1)[0] == head})
        elif isinstance(values.get(head), dict):
            inner = out.setdefault(head, {})
            inner.update(_pick(values[head], [rest]))
    return out


def _parent_key(parent_table: str) -> str:
    return "__Submissions-id" if parent_table == SUBMISSIONS else f"__{parent_table}-id"


def explode(
    schema: FormSchema,
    root: etree._Element,
    instance_id: str,
    wkt: bool = False,
    expand: bool = False,
) -> dict[str, list[dict]]:
    """Every row this submission puts in every table (without ``__system``). With
    ``expand`` ($expand=*) each repeat's rows are also inline in their parent row, beside
    its navigation link and without the parent's id, as Central writes them."""
    layout = _Layout(schema)
    layout.expand = expand
    out: dict[str, list[dict]] = {t.name: [] for t in layout.tables.values()}
    link = f"{SUBMISSIONS}('{quote(instance_id, safe='')}')"
    row = {"__id": instance_id}
    row.update(_level(root, f"/{schema.root_name}", layout, link, instance_id, out, wkt))
    out[SUBMISSIONS].append(row)
    return out


def _level(node, path, layout, link, row_id, out, wkt) -> dict:
    values: dict = {}
    elements: dict[str, list] = {}
    for child in node if node is not None else ():
        if isinstance(child.tag, str):
            elements.setdefault(local(child.tag), []).append(child)
    for field in layout.children.get(path, ()):
        key = odata_name(field.name)
        found = elements.get(field.name, [])
        if field.type == "repeat":
            table = layout.tables[field.path]
            values[f"{key}@odata.navigationLink"] = f"{link}/{key}"
            parent_key = _parent_key(table.parent)
            for index, element in enumerate(found):
                child_id = hashlib.sha1(
                    f"{row_id}/{field.name}[{index}]".encode(), usedforsecurity=False
                ).hexdigest()
                child_link = f"{link}/{key}('{child_id}')"
                child = {"__id": child_id}
                child.update(_level(element, field.path, layout, child_link, child_id, out, wkt))
                if layout.expand:
                    values.setdefault(key, []).append(dict(child))
                child[parent_key] = row_id
                out[table.name].append(child)
        elif field.type == "group":
            values[key] = _level(
                found[0] if found else None, field.path, layout, link, row_id, out, wkt
            )
        else:
            values[key] = _value(field, found[0].text if found else None, wkt)
    return values


def _value(field: Field, text: str | None, wkt: bool) -> object:
    value = typed(field, text)
    if isinstance(value, list):  # select_multiple: Central keeps the space-separated text
        return " ".join(value)
    if wkt and isinstance(value, dict) and value.get("type") == "Point":
        return "POINT (" + " ".join(str(c) for c in value["coordinates"]) + ")"
    return value


def _edmx(system_namespace: str, system_fields, namespace: str):
    """An EDMX document with __system's complex type; returns it and the user schema."""
    edmx = etree.Element(f"{{{EDMX}}}Edmx", nsmap={"edmx": EDMX}, Version="4.0")
    services = etree.SubElement(edmx, f"{{{EDMX}}}DataServices")
    system = etree.SubElement(
        services, f"{{{EDM}}}Schema", nsmap={None: EDM}, Namespace=system_namespace
    )
    meta = etree.SubElement(system, f"{{{EDM}}}ComplexType", Name="metadata")
    for name, kind in system_fields:
        etree.SubElement(meta, f"{{{EDM}}}Property", Name=name, Type=kind)
    user = etree.SubElement(services, f"{{{EDM}}}Schema", nsmap={None: EDM}, Namespace=namespace)
    return edmx, user


def metadata(schema: FormSchema) -> bytes:
    """The EDMX document: an entity type per table (groups as complex types), __system's
    type, and a container with an entity set per table."""
    layout = _Layout(schema)
    namespace = f"org.opendatakit.user.{odata_name(schema.form_id)}"
    edmx, user = _edmx("org.opendatakit.submission", SYSTEM_FIELDS, namespace)
    for table in layout.tables.values():
        entity = etree.SubElement(user, f"{{{EDM}}}EntityType", Name=_type_name(table.name))
        key = etree.SubElement(entity, f"{{{EDM}}}Key")
        etree.SubElement(key, f"{{{EDM}}}PropertyRef", Name="__id")
        etree.SubElement(entity, f"{{{EDM}}}Property", Name="__id", Type="Edm.String")
        if table.parent is None:
            etree.SubElement(entity, f"{{{EDM}}}Property", Name="__system", Type=SYSTEM_TYPE)
        else:
            parent_key = _parent_key(table.parent)
            etree.SubElement(entity, f"{{{EDM}}}Property", Name=parent_key, Type="Edm.String")
        _properties(user, entity, table.path, _type_name(table.name), layout, namespace)
    container = etree.SubElement(user, f"{{{EDM}}}EntityContainer", Name=odata_name(schema.form_id))
    for table in layout.tables.values():
        etree.SubElement(
            container,
            f"{{{EDM}}}EntitySet",
            Name=table.name,
            EntityType=f"{namespace}.{_type_name(table.name)}",
        )
    return etree.tostring(edmx, xml_declaration=True, encoding="UTF-8")


def entity_metadata(dataset: str, properties: list[str]) -> bytes:
    """The EDMX document of an entity list: one ``Entities`` set of strings and __system."""
    namespace = f"org.opendatakit.user.{odata_name(dataset)}"
    edmx, user = _edmx("org.opendatakit.entity", ENTITY_SYSTEM_FIELDS, namespace)
    entity = etree.SubElement(user, f"{{{EDM}}}EntityType", Name="Entities")
    key = etree.SubElement(entity, f"{{{EDM}}}Key")
    etree.SubElement(key, f"{{{EDM}}}PropertyRef", Name="__id")
    for name in ("__id", "label", *(odata_name(p) for p in properties)):
        etree.SubElement(entity, f"{{{EDM}}}Property", Name=name, Type="Edm.String")
    etree.SubElement(
        entity, f"{{{EDM}}}Property", Name="__system", Type="org.opendatakit.entity.metadata"
    )
    container = etree.SubElement(user, f"{{{EDM}}}EntityContainer", Name=odata_name(dataset))
    etree.SubElement(
        container, f"{{{EDM}}}EntitySet", Name="Entities", EntityType=f"{namespace}.Entities"
    )
    return etree.tostring(edmx, xml_declaration=True, encoding="UTF-8")


ENTITY_SYSTEM_FIELDS = (
    ("createdAt", "Edm.DateTimeOffset"),
    ("creatorId", "Edm.String"),
    ("creatorName", "Edm.String"),
    ("updates", "Edm.Int64"),
    ("updatedAt", "Edm.DateTimeOffset"),
    ("version", "Edm.Int64"),
    ("conflict", "Edm.String"),
)


def _type_name(table_or_group: str) -> str:
    return table_or_group.replace(".", "_")


def _properties(schema_el, owner, path, owner_name, layout, namespace) -> None:
    for field in layout.children.get(path, ()):
        key = odata_name(field.name)
        if field.type == "repeat":
            target = _type_name(layout.tables[field.path].name)
            etree.SubElement(
                owner,
                f"{{{EDM}}}NavigationProperty",
                Name=key,
                Type=f"Collection({namespace}.{target})",
            )
        elif field.type == "group":
            group_name = f"{owner_name}_{key}"
            group = etree.SubElement(schema_el, f"{{{EDM}}}ComplexType", Name=group_name)
            etree.SubElement(
                owner, f"{{{EDM}}}Property", Name=key, Type=f"{namespace}.{group_name}"
            )
            _properties(schema_el, group, field.path, group_name, layout, namespace)
        else:
            kind = EDM_TYPES.get(field.type, "Edm.String")
            etree.SubElement(owner, f"{{{EDM}}}Property", Name=key, Type=kind)


# --- $filter: the subset Central supports on submissions ------------------------------------


class FilterError(ValueError):
    """A $filter this server cannot read; the message says what."""


#: Bounds on a $filter's shape: the parser, and the SQL built from its tree, recurse once per
#: level, so a hostile filter ("((((...", "not not ...", or a thousand "or"s) would otherwise
#: exhaust the stack and answer 500. Real filters (pyodk, Excel, Power BI) stay far below.
MAX_FILTER_DEPTH = 32
MAX_FILTER_COMPARISONS = 100


_OPS = ("eq", "ne", "gt", "ge", "lt", "le")
#: Central's $filter functions (lib/data/odata-filter.js): a date part of a field, and now().
FUNCTIONS = ("year", "month", "day", "hour", "minute", "second", "now")
_FLIP = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<date>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<paren>[()])
      | (?P<word>[$A-Za-z_][$A-Za-z0-9_/]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # string | date | number | null | boolean
    text: str


def parse_filter(text: str, fields: tuple[str, ...]):
    """The $filter as a tree: ("and"|"or", a, b), ("not", a), ("cmp", op, field, Literal);
    ``fields`` are the __system fields it may compare (written with or without Central's
    ``$root/Submissions/`` or ``$root/Entities/``)."""
    parser = _FilterParser(fields)
    tree, rest = parser.or_(_tokens(text))
    if rest:
        raise FilterError(f"Unexpected '{rest[0][1]}' in $filter.")
    return tree


def _tokens(text: str) -> list[tuple[str, str]]:
    out, at = [], 0
    text = text.strip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise FilterError(f"$filter cannot be read at '{text[at : at + 20]}'.")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        at = match.end()
        while at < len(text) and text[at].isspace():
            at += 1
    return out


class _FilterParser:
    """Recursive descent: or, and, not, parentheses, one comparison of a field and a value."""

    def __init__(self, fields: tuple[str, ...]):
        self.fields = fields
        self.depth = 0
        self.comparisons = 0

    def or_(self, tokens):
        left, tokens = self.and_(tokens)
        while tokens and tokens[0] == ("word", "or"):
            right, tokens = self.and_(tokens[1:])
            left = ("or", left, right)
        return left, tokens

    def and_(self, tokens):
        left, tokens = self.not_(tokens)
        while tokens and tokens[0] == ("word", "and"):
            right, tokens = self.not_(tokens[1:])
            left = ("and", left, right)
        return left, tokens

    def not_(self, tokens):
        if tokens and tokens[0] in (("word", "not"), ("paren", "(")):
            self.depth += 1
            if self.depth > MAX_FILTER_DEPTH:
                raise FilterError(
                    f"$filter nests 'not' and parentheses more than {MAX_FILTER_DEPTH} deep."
                )
            try:
                return self._nested(tokens)
            finally:
                self.depth -= 1
        return self.comparison(tokens)

    def _nested(self, tokens):
        if tokens[0] == ("word", "not"):
            inner, tokens = self.not_(tokens[1:])
            return ("not", inner), tokens
        inner, tokens = self.or_(tokens[1:])
        if not tokens or tokens[0] != ("paren", ")"):
            raise FilterError("A '(' in $filter is not closed.")
        return inner, tokens[1:]

    def comparison(self, tokens):
        self.comparisons += 1
        if self.comparisons > MAX_FILTER_COMPARISONS:
            raise FilterError(f"$filter has more than {MAX_FILTER_COMPARISONS} comparisons.")
        left, tokens = self.operand(tokens)
        if not tokens:
            raise FilterError("$filter ends before its comparison does.")
        kind, op = tokens[0]
        if kind != "word" or op not in _OPS:
            raise FilterError(f"'{op}' is not a comparison ({', '.join(_OPS)}).")
        right, tokens = self.operand(tokens[1:])
        if left[0] == "field" and right[0] == "value":
            field, value = left, right
        elif right[0] == "field" and left[0] == "value":
            field, value, op = right, left, _FLIP[op]
        else:
            raise FilterError("Each comparison in $filter needs one field and one value.")
        tree = ("cmp", op, field[1], value[1])
        return (*tree, field[2]) if field[2] else tree, tokens

    def operand(self, tokens):
        """A field, a function of one (Central's year, month, day, hour, minute, second),
        now(), or a value."""
        if not tokens:
            raise FilterError("$filter ends before its comparison does.")
        kind, text = tokens[0]
        if kind == "word" and text in FUNCTIONS and tokens[1:2] == [("paren", "(")]:
            if text == "now":
                if tokens[2:3] != [("paren", ")")]:
                    raise FilterError("now() takes nothing.")
                return ("value", Literal("now", "now()")), tokens[3:]
            name = self.field(tokens[2]) if len(tokens) > 2 else None
            if name is None or tokens[3:4] != [("paren", ")")]:
                raise FilterError(f"{text}() takes one field.")
            return ("field", name, text), tokens[4:]
        name = self.field(tokens[0])
        if name is not None:
            return ("field", name, None), tokens[1:]
        return ("value", _literal(tokens[0])), tokens[1:]

    def field(self, token) -> str | None:
        kind, text = token
        if kind != "word" or text in ("null", "true", "false"):
            return None
        if text in ("__id", "$root/Submissions/__id", "$root/Entities/__id") and (
            "__id" in self.fields
        ):
            return "__id"
        name = text.rsplit("__system/", 1)[-1]
        prefix = text[: len(text) - len(name)]
        if name not in self.fields or prefix not in (
            "__system/",
            "$root/Submissions/__system/",
            "$root/Entities/__system/",
        ):
            named = (f if f == "__id" else f"__system/{f}" for f in self.fields)
            raise FilterError(f"$filter can compare {', '.join(named)}, not '{text}'.")
        return name


def _literal(token) -> Literal:
    kind, text = token
    if kind == "string":
        return Literal("string", text[1:-1].replace("''", "'"))
    if kind in ("date", "number"):
        return Literal(kind, text)
    if kind == "word" and text in ("null", "true", "false"):
        return Literal("null" if text == "null" else "boolean", text)
    raise FilterError(f"'{text}' is not a value $filter can compare.")
