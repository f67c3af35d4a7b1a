"""The duplicate matcher, pure: what a client record says about the person (the UIC's letters
of the parents' given names, sex, date or year of birth, ward: domain.md F1), the keys that
block records into small groups, and a score of 0.0-1.0 for two records.

A client entity holds no name: the UIC (``LAHU1150390``: two letters of the mother's given
name, two of the father's, the sex code, ``ddmmyy`` or ``0000yy``) is what identifies a person.
Staff slip when they type it: a letter (``LA`` for ``LE``), the parents' order (``HULA``),
an accent a phone keyboard adds (``ĐA``), a birth year one off; and a person moves to another
ward. The score is a likelihood ratio (Fellegi-Sunter): each agreement weighs by how rare the
agreeing value is in the population (many mothers' names begin with ``TH`` or ``NG``, few
with ``XU``), counted by ``Frequencies``; string distances come from rapidfuzz.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

#: What the letters of a UIC look like once folded; the optional ``-2`` a second person with
#: the same code gets at registration (F1 xu_ly_trung = nguoi_khac) is not part of the person.
_UIC = re.compile(r"^([A-Z]{2})([A-Z]{2})([0-9])([0-9]{6})$")
_SUFFIX = re.compile(r"-[0-9]+$")

#: The score from which a pair is suggested for review.
THRESHOLD = 0.5

# The likelihoods (m: that two records of one person agree so; u: that two people do). The
# u of an exact value is its frequency in the population; the others are set here and
# checked against bench/duplicates.py.
M_LETTERS_EXACT, M_LETTERS_SLIP, M_LETTERS_OTHER = 0.90, 0.08, 0.02
M_SWAPPED = 0.06  # the parents' letters typed in the other order
M_SEX_SAME, U_SEX_SAME = 0.98, 0.5
M_DATE_SAME = 0.80
M_DATE_YEAR_SLIP = 0.08  # both dates known: the same day and month, the year one off
M_DATE_DAY_SLIP = 0.03  # both dates known, another day or month: a slip in the day
M_DATE_ONE_SIDE = 0.10  # one record has the date of birth, the other only the year
M_YEAR_SAME, M_YEAR_NEAR, M_YEAR_FAR = 0.85, 0.12, 0.03
M_WARD_SAME, M_WARD_NEAR, M_WARD_FAR = 0.60, 0.30, 0.10
#: Where the summed weight (natural log) crosses THRESHOLD, and how steeply.
MIDPOINT, SPREAD = 11.0, 1.5


def fold(text: str) -> str:
    """Upper case without diacritics, đ as d: ``Đặng`` and ``dang`` fold to ``DANG``."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper().strip()


@dataclass(frozen=True, slots=True)
class Person:
    """What a client record tells of the person, folded."""

    uuid: str
    me: str  # two letters of the mother's given name
    bo: str  # two letters of the father's given name
    sex: str
    dob: str  # ddmmyy, or "" when only the year is known
    year: int | None
    ward: str
    province: str
    uic: str  # the folded code without a "-2" suffix

    @property
    def letters(self) -> str:
        return self.me + self.bo


def person(uuid: str, data: Mapping[str, str]) -> Person:
    """A client entity's properties (uic, gioi, nam_sinh, ma_xa, ma_tinh) as a Person."""
    uic = _SUFFIX.sub("", fold(str(data.get("uic") or "")).replace(" ", ""))
    me = bo = dob = ""
    sex = str(data.get("gioi") or "").strip()
    parsed = _UIC.match(uic)
    if parsed:
        me, bo, uic_sex, digits = parsed.groups()
        sex = sex or uic_sex
        dob = "" if digits.startswith("0000") else digits
    else:
        letters = re.sub(r"[^A-Z]", "", uic)
        me, bo = letters[:2], letters[2:4]
    return Person(
        uuid,
        me,
        bo,
        sex,
        dob,
        _year(data.get("nam_sinh"), dob or (digits if parsed else "")),
        str(data.get("ma_xa") or "").strip(),
        str(data.get("ma_tinh") or "").strip(),
        uic,
    )


def _year(nam_sinh: object, digits: str) -> int | None:
    text = str(nam_sinh or "").strip()
    if text.isdigit() and len(text) == 4:
        return int(text)
    if len(digits) == 6 and digits[4:].isdigit():
        yy = int(digits[4:])
        return 2000 + yy if yy <= 14 else 1900 + yy
    return None


# --- blocking ---------------------------------------------------------------------------


def keys(p: Person) -> list[str]:
    """The keys a record is filed under: its code; and, with its sex and birth year, its
    letters with the parents in a fixed order (a swap files together) and its letters with
    one of the four left out (a one-letter slip files together)."""
    out = [f"U|{p.uic}"] if p.uic else []
    if p.year is None or len(p.letters) != 4:
        return out
    return out + _letter_keys(p, p.year)


def probe_keys(p: Person) -> list[str]:
    """The keys to look up for a record: its own code, and its letter keys in its birth year
    and the years either side."""
    out = [f"U|{p.uic}"] if p.uic else []
    if p.year is None or len(p.letters) != 4:
        return out
    for year in (p.year - 1, p.year, p.year + 1):
        out += _letter_keys(p, year)
    return out


def _letter_keys(p: Person, year: int) -> list[str]:
    tail = f"{p.sex}|{year}"
    ordered = "".join(sorted((p.me, p.bo)))
    out = [f"S|{ordered}|{tail}"]
    out += [f"D{i}|{p.letters[:i]}{p.letters[i + 1 :]}|{tail}" for i in range(4)]
    return out


def blocks(people: Iterable[Person]) -> Iterable[tuple[Person, Person]]:
    """Every pair of records sharing a key, each pair once (the nightly run): records are
    filed under their keys, and each is compared with those filed under its probe keys."""
    filed: dict[str, list[int]] = {}
    everyone = list(people)
    for index, p in enumerate(everyone):
        for key in keys(p):
            filed.setdefault(key, []).append(index)
    for index, p in enumerate(everyone):
        seen: set[int] = set()
        for key in probe_keys(p):
            for other in filed.get(key, ()):
                if other > index and other not in seen:
                    seen.add(other)
                    yield p, everyone[other]


# --- weights ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frequencies:
    """How common each value is among the list's open clients."""

    n: int
    letters: Mapping[str, int]  # a parent's two letters, mothers' and fathers' together
    years: Mapping[int, int]
    wards: Mapping[str, int]
    provinces: Mapping[str, int]
    dated: int = 0  # how many know their date of birth (not only the year)
    _near: dict = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def of(people: Iterable[Person]) -> Frequencies:
        letters: Counter[str] = Counter()
        years: Counter[int] = Counter()
        wards: Counter[str] = Counter()
        provinces: Counter[str] = Counter()
        n = dated = 0
        for p in people:
            n += 1
            dated += bool(p.dob)
            letters.update(x for x in (p.me, p.bo) if x)
            if p.year is not None:
                years[p.year] += 1
            wards[p.ward] += 1
            provinces[p.province] += 1
        return Frequencies(n, dict(letters), dict(years), dict(wards), dict(provinces), dated)

    def as_json(self) -> dict:
        return {
            "n": self.n,
            "letters": dict(self.letters),
            "years": {str(k): v for k, v in self.years.items()},
            "wards": dict(self.wards),
            "provinces": dict(self.provinces),
            "dated": self.dated,
        }

    @staticmethod
    def from_json(data: Mapping) -> Frequencies:
        return Frequencies(
            int(data.get("n") or 0),
            dict(data.get("letters") or {}),
            {int(k): v for k, v in (data.get("years") or {}).items()},
            dict(data.get("wards") or {}),
            dict(data.get("provinces") or {}),
            int(data.get("dated") or 0),
        )

    def near(self, value: str) -> float:
        """The share of parents' letters one slip from ``value`` (``HA``: ``HU``, ``HO``,
        ``NA``...): a slip agreement on common letters says little."""
        cached = self._near.get(value)
        if cached is None:
            total = 2 * self.n + 26 * 26
            hits = sum(
                count for other, count in self.letters.items() if OSA.distance(value, other) == 1
            )
            cached = self._near[value] = (hits + 4) / total
        return cached

    def share(self, table: Mapping, value, kinds: int, total: int | None = None) -> float:
        """The share of ``value`` in ``table``, smoothed so that an unseen value is rare but
        possible (``kinds``: how many values there could be)."""
        total = self.n * (2 if table is self.letters else 1) if total is None else total
        return (table.get(value, 0) + 1) / (total + kinds)


#: Before any nightly run has counted a list: every value as common as any other.
UNIFORM = Frequencies(0, {}, {}, {}, {})


@dataclass(frozen=True, slots=True)
class Match:
    score: float
    reasons: tuple[str, ...]


def compare(a: Person, b: Person, freq: Frequencies = UNIFORM) -> Match:
    """How likely two records are one person, 0.0-1.0, and why (reason codes, in the order a
    reviewer reads them; ``duplicates.REASON_LABELS`` words them)."""
    reasons: list[str] = []
    if a.uic and a.uic == b.uic:
        reasons.append("same_uic")
    weight, how = _letters(a, b, freq)
    reasons += how
    if a.sex and a.sex == b.sex:
        weight += math.log(M_SEX_SAME / U_SEX_SAME)
    else:
        weight += math.log((1 - M_SEX_SAME) / (1 - U_SEX_SAME))
        reasons.append("sex_differs")
    w, how = _birth(a, b, freq)
    weight += w
    reasons += how
    w, how = _ward(a, b, freq)
    weight += w
    reasons += how
    score = 1 / (1 + math.exp(-(weight - MIDPOINT) / SPREAD))
    return Match(round(score, 3), tuple(reasons))


def _slot(x: str, y: str, freq: Frequencies) -> tuple[float, str]:
    if not x or not y:
        return math.log(M_LETTERS_OTHER), "letters_differ"
    distance = OSA.distance(x, y)
    if distance == 0:
        return math.log(M_LETTERS_EXACT / freq.share(freq.letters, x, 26 * 26)), ""
    if distance == 1:
        return math.log(M_LETTERS_SLIP / freq.near(x)), "one_letter"
    return math.log(M_LETTERS_OTHER), "letters_differ"


def _letters(a: Person, b: Person, freq: Frequencies) -> tuple[float, list[str]]:
    straight = [_slot(a.me, b.me, freq), _slot(a.bo, b.bo, freq)]
    swapped = [_slot(a.me, b.bo, freq), _slot(a.bo, b.me, freq)]
    w_straight = math.log(1 - M_SWAPPED) + sum(w for w, _ in straight)
    w_swapped = math.log(M_SWAPPED) + sum(w for w, _ in swapped)
    if w_swapped > w_straight:
        how = ["initials_swapped", *(r for _, r in swapped if r)]
        return w_swapped, list(dict.fromkeys(how))
    how = [r for _, r in straight if r]
    return w_straight, list(dict.fromkeys(how)) or ["same_initials"]


def _birth(a: Person, b: Person, freq: Frequencies) -> tuple[float, list[str]]:
    if a.year is None or b.year is None:
        return 0.0, []
    p_year = freq.share(freq.years, a.year, 80)
    gap = abs(a.year - b.year)
    if bool(a.dob) != bool(b.dob):  # one knew the date, the other only the year
        dated = (freq.dated + 1) / (freq.n + 2)
        w, how = _years(gap, p_year)
        return w + math.log(M_DATE_ONE_SIDE / (2 * dated * (1 - dated))), how
    if a.dob and b.dob:  # both dates known
        same_day = a.dob[:4] == b.dob[:4]
        if gap == 0 and same_day:
            return math.log(M_DATE_SAME / (p_year / 365)), ["same_birth_date"]
        if gap == 1 and same_day:
            return math.log(M_DATE_YEAR_SLIP / (2 * p_year / 365)), ["birth_year_off_by_one"]
        if gap == 0:
            return math.log(M_DATE_DAY_SLIP / p_year), ["same_birth_year"]
        if gap == 1:
            return math.log(M_DATE_DAY_SLIP * M_YEAR_NEAR / (2 * p_year)), ["birth_year_off_by_one"]
        return math.log(M_YEAR_FAR), ["birth_year_differs"]
    return _years(gap, p_year)


def _years(gap: int, p_year: float) -> tuple[float, list[str]]:
    if gap == 0:
        return math.log(M_YEAR_SAME / p_year), ["same_birth_year"]
    if gap == 1:
        return math.log(M_YEAR_NEAR / (2 * p_year)), ["birth_year_off_by_one"]
    return math.log(M_YEAR_FAR), ["birth_year_differs"]


def _ward(a: Person, b: Person, freq: Frequencies) -> tuple[float, list[str]]:
    if a.ward and a.ward == b.ward:
        return math.log(M_WARD_SAME / freq.share(freq.wards, a.ward, 300)), ["same_ward"]
    if a.province and a.province == b.province:
        share = freq.share(freq.provinces, a.province, 60)
        return math.log(M_WARD_NEAR / share), ["neighbouring_ward"]
    return math.log(M_WARD_FAR / 0.5), ["other_province"]
