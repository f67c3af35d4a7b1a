"""Collect's engine (JavaRosa, inside the ODK Validate jar pyxform ships) and the Web Forms engine
(@getodk/xforms-engine, installed by npm from server/webforms/package-lock.json) must offer the same
choices: for every programme form, every select question, and each province (with and without a
ward chosen), both count the choices offered and the counts must be equal. F1's client groups once
offered none for Hà Nội in Web Forms (a filter comparing a missing value to '', which JavaRosa
forgives); this is the check that catches such a difference.

The entity lists the forms read (clients, referrals, facilities, groups) are made here as small
CSV files with every column the forms' expressions name, so both engines read the same data."""

from __future__ import annotations

import csv
import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from lxml import etree

import forms

ROOT = Path(__file__).resolve().parents[2]
XLSFORMS = ROOT / "xlsforms"
PROGRAMME = sorted(XLSFORMS.glob("f[1-7]_*.xlsx"))
ENGINES = Path(__file__).resolve().parent / "engines"
WEBFORMS = ROOT / "server" / "webforms"
# No database is involved: `make test` runs the check in its SQLite pass, not again on PostgreSQL.
pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="uses no database; the SQLite pass of make test runs it",
)
NS = {"h": "http://www.w3.org/1999/xhtml", "x": "http://www.w3.org/2002/xforms"}
_INSTANCE = re.compile(
    r"instance\('([\w.-]+)'\)/root/item(\[(?:[^\[\]]|\[[^\]]*\])*\])?(?:/(\w+))?"
)
_WORD = re.compile(r"(?<![/\w$@.'-])([A-Za-z_][\w-]*)\b(?!\s*\()")
_NOT_COLUMNS = {"and", "or", "div", "mod", "true", "false"}
# A few values per column, so that filters keep some rows and drop others in both engines.
_VALUES = {
    "trang_thai": ["mo", "da_chuyen", "dong", "cho", ""],
    "sau_cai": ["co", "khong"],
    "dich_vu": ["xn_hiv arv", "mmt", ""],
}


def _validate_jar() -> Path:
    from pyxform.validators.odk_validate import ODK_VALIDATE_PATH

    return Path(ODK_VALIDATE_PATH)


def _columns(xforms: list[bytes]) -> dict[str, set[str]]:
    """Each external list a form reads -> the columns its expressions name."""
    found: dict[str, set[str]] = defaultdict(lambda: {"name", "label"})
    for xml in xforms:
        text = etree.tostring(etree.fromstring(xml)).decode()
        text = text.replace("&lt;", "<").replace("&gt;", ">")
        for match in _INSTANCE.finditer(text):
            list_id, predicate, column = match.groups()
            cols = found[list_id]
            if column:
                cols.add(column)
            if predicate:
                bare = re.sub(r"'[^']*'", "''", predicate)
                bare = re.sub(r"\s/[\w/]+", " ", bare)
                cols.update(w for w in _WORD.findall(bare) if w not in _NOT_COLUMNS)
    return found


def _external_lists(xforms: list[bytes]) -> set[str]:
    names = set()
    for xml in xforms:
        root = etree.fromstring(xml)
        for instance in root.iterfind(".//x:model/x:instance[@src]", NS):
            names.add(instance.get("src").rsplit("/", 1)[-1])
    return names


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[Path, list[Path], dict[str, list[str]]]:
    """The seven forms as XForms, a media folder with every file they read, and each province's wards."""
    work = tmp_path_factory.mktemp("engines")
    media = work / "media"
    media.mkdir()
    xforms = [forms.compile_xlsform(p, validate=False).xform for p in PROGRAMME]
    paths = []
    for source, xml in zip(PROGRAMME, xforms, strict=True):
        path = work / f"{source.stem}.xml"
        path.write_bytes(xml)
        paths.append(path)
    with (XLSFORMS / "wards.csv").open(encoding="utf-8") as f:
        wards = list(csv.DictReader(f))
    by_province: dict[str, list[str]] = defaultdict(list)
    for row in wards:
        by_province[row["tinh"]].append(row["name"])
    columns = _columns(xforms)
    for filename in _external_lists(xforms):
        target = media / filename
        if (XLSFORMS / filename).exists():
            target.write_bytes((XLSFORMS / filename).read_bytes())
            continue
        cols = sorted(columns[filename.removesuffix(".csv")])
        rows = []
        for province, codes in sorted(by_province.items()):
            for n in range(6):
                row = {}
                for col in cols:
                    if col == "name":
                        row[col] = f"{filename[:3]}-{province}-{n}"
                    elif col == "label":
                        row[col] = f"{filename} {province} {n}"
                    elif col == "tinh":
                        row[col] = province
                    elif col.startswith("ma_xa"):
                        row[col] = codes[n % 2]
                    else:
                        values = _VALUES.get(col, ["co", "mo", ""])
                        row[col] = values[n % len(values)]
                rows.append(row)
        with target.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=cols)
            writer.writeheader()
            writer.writerows(rows)
    return media, paths, dict(by_province)


def _cases(paths: list[Path], by_province: dict[str, list[str]]) -> list[str]:
    """Arguments for both harnesses: each form, then each province alone and with its first ward."""
    args = []
    for path in paths:
        root = etree.parse(str(path)).getroot()
        binds = [b.get("nodeset") for b in root.iterfind(".//x:bind", NS)]
        tinh = next(b for b in binds if b.endswith("/ma_tinh"))
        xa = next(b for b in binds if b.endswith("/ma_xa"))
        args.append(f"@{path}")
        for province, codes in sorted(by_province.items()):
            args.append(f"{tinh}={province}")
            args.append(f"{tinh}={province};{xa}={codes[0]}")
    return args


def _counts(output: str) -> dict[tuple[str, str, str], int]:
    counts = {}
    for line in output.splitlines():
        form, case, path, n = line.split("\t")
        counts[(form, case, path)] = int(n)
    return counts


@pytest.fixture(scope="module")
def javarosa(compiled, tmp_path_factory):
    media, paths, by_province = compiled
    classes = tmp_path_factory.mktemp("javarosa")
    jar = _validate_jar()
    subprocess.run(
        [
            "javac",
            "-nowarn",
            "-d",
            str(classes),
            "-cp",
            str(jar),
            str(ENGINES / "ChoiceCounts.java"),
        ],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [
            "java",
            "-cp",
            f"{classes}:{jar}",
            "ChoiceCounts",
            str(media),
            *_cases(paths, by_province),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return _counts(run.stdout)


@pytest.fixture(scope="module")
def web_forms(compiled):
    media, paths, by_province = compiled
    assert (WEBFORMS / "node_modules" / "@getodk" / "xforms-engine").is_dir(), (
        "the Web Forms engine is not installed: `make test` runs npm ci in server/webforms"
    )
    run = subprocess.run(
        ["node", str(ENGINES / "choice_counts.mjs"), str(media), *_cases(paths, by_province)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "WEBFORMS_DIR": str(WEBFORMS)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return _counts(run.stdout)


def test_both_engines_offer_the_same_choices_for_every_select_and_province(javarosa, web_forms):
    assert set(javarosa) == set(web_forms)
    forms_seen = {form for form, _, _ in javarosa}
    assert forms_seen == {p.stem + ".xml" for p in PROGRAMME}
    differ = {
        key: (javarosa[key], web_forms[key]) for key in javarosa if javarosa[key] != web_forms[key]
    }
    assert differ == {}, "JavaRosa and Web Forms offer different numbers of choices: (Collect, web)"


def test_f1_offers_client_groups_in_both_provinces(javarosa, web_forms):
    """The case that was broken: Hà Nội (01) had no client group in Web Forms, Đắk Lắk (66) 2 of 11."""
    for counts in (javarosa, web_forms):
        groups = {
            case: n
            for (form, case, path), n in counts.items()
            if form == "f1_dang_ky.xml" and path.endswith("/nhom_dt") and ";" not in case
        }
        assert groups == {"/data/hdr/ma_tinh=01": 9, "/data/hdr/ma_tinh=66": 11}


def test_the_entity_lists_made_here_let_the_filters_keep_some_rows(javarosa):
    """The comparison means something for the lists too: with a ward chosen, F2's client list is not empty."""
    kept = [
        n
        for (form, case, path), n in javarosa.items()
        if form == "f2_gap_go.xml" and path.endswith("/kh") and ";" in case
    ]
    assert kept
    assert all(n > 0 for n in kept)
