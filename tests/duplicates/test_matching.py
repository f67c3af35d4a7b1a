"""The matcher on Vietnamese names and codes: diacritics and đ folded, the parents' letters
swapped, one-letter slips, birth years one apart, wards near and far; a match on common
letters weighs less than one on rare letters; blocking finds what the score would."""

from __future__ import annotations

import itertools

from server.services import matching
from server.services.matching import Frequencies, compare, fold, person


def client(uuid, uic, year, ward="00118", province="01", sex=None):
    data = {"uic": uic, "nam_sinh": str(year), "ma_xa": ward, "ma_tinh": province}
    if sex:
        data["gioi"] = sex
    return person(uuid, data)


def test_folding_removes_diacritics_and_folds_d_bar():
    assert fold("Đặng Thị Hương") == "DANG THI HUONG"
    assert fold("nguyễn") == "NGUYEN"
    assert fold("đđ") == "DD"
    assert fold("Ưu Ơn") == "UU ON"


def test_a_uic_is_read_into_letters_sex_and_birth():
    p = client("a", "LAHU1150390", 1990)
    assert (p.me, p.bo, p.sex, p.dob, p.year) == ("LA", "HU", "1", "150390", 1990)
    only_year = client("b", "laHu2000085-2", 1985)  # lower case, the "-2" suffix of F1
    assert (only_year.letters, only_year.sex, only_year.dob, only_year.uic) == (
        "LAHU",
        "2",
        "",
        "LAHU2000085",
    )
    typed = client("c", "ĐAHƯ1000085", 1985)  # accents a phone keyboard added
    assert typed.letters == "DAHU"


def test_the_same_code_and_date_in_the_same_ward_is_a_sure_match():
    m = compare(client("a", "LAHU1150390", 1990), client("b", "LAHU1150390", 1990))
    assert m.score > 0.99
    assert m.reasons[:2] == ("same_uic", "same_initials")
    assert "same_birth_date" in m.reasons
    assert "same_ward" in m.reasons


def test_accents_swapped_parents_and_a_slip_are_each_found():
    original = client("a", "LAHU1150390", 1990)
    accents = client("b", "LÂHƯ1150390", 1990, ward="00004")
    swapped = client("c", "HULA1150390", 1990, ward="00004")
    slip = client("d", "LEHU1150390", 1990, ward="00004")
    assert compare(original, accents).reasons[0] == "same_uic"
    assert "initials_swapped" in compare(original, swapped).reasons
    assert "one_letter" in compare(original, slip).reasons
    for other in (accents, swapped, slip):
        assert compare(original, other).score >= matching.THRESHOLD
        assert "neighbouring_ward" in compare(original, other).reasons  # both in Hà Nội


def test_a_birth_year_one_apart_counts_less_than_the_same_year():
    same = compare(client("a", "XUKH1000090", 1990), client("b", "XUKH1000090", 1990))
    near = compare(client("a", "XUKH1000090", 1990), client("b", "XUKH1000089", 1989))
    far = compare(client("a", "XUKH1000090", 1990), client("b", "XUKH1000080", 1980))
    assert "birth_year_off_by_one" in near.reasons
    assert "birth_year_differs" in far.reasons
    assert same.score > near.score > far.score


def test_another_sex_or_another_province_weighs_against():
    base = client("a", "LAHU1000090", 1990)  # only the year known: no sure match
    other_sex = compare(base, client("b", "LAHU2000090", 1990, ward="00004"))
    same_sex = compare(base, client("c", "LAHU1000090", 1990, ward="00004"))
    assert "sex_differs" in other_sex.reasons
    assert other_sex.score < same_sex.score
    far = compare(base, client("d", "LAHU1000090", 1990, ward="24121", province="66"))
    assert "other_province" in far.reasons
    assert far.score < same_sex.score


def test_common_letters_weigh_less_than_rare_ones():
    """Two people whose mothers are Hương and fathers Thanh share "HUTH" far more often
    than two whose parents are Xuân and Khánh: the same agreement is weaker evidence."""
    people = [client(str(i), "HUTH1000090", 1960 + i % 40) for i in range(300)]
    people += [client(f"x{i}", "XUKH1000090", 1960 + i % 40) for i in range(3)]
    freq = Frequencies.of(people)
    common = compare(
        client("a", "HUTH1000090", 1990), client("b", "HUTH1000090", 1990, "00004"), freq
    )
    rare = compare(
        client("a", "XUKH1000090", 1990), client("b", "XUKH1000090", 1990, "00004"), freq
    )
    assert rare.score > common.score
    assert freq.near("HA") > freq.near("MI")  # HA is one slip from the many HU


def test_frequencies_survive_their_json():
    people = [client("a", "LAHU1150390", 1990), client("b", "MAHO2000085", 1985, "00004")]
    freq = Frequencies.of(people)
    again = Frequencies.from_json(freq.as_json())
    assert (again.n, again.letters, again.years, again.wards, again.dated) == (
        freq.n,
        freq.letters,
        freq.years,
        freq.wards,
        freq.dated,
    )


def test_blocking_pairs_what_would_score_and_not_everyone():
    people = [
        client("a", "LAHU1150390", 1990),
        client("b", "HULA1150390", 1990, "00004"),  # swapped
        client("c", "LEHU1150390", 1991, "00004"),  # a slip and a year
        client("d", "MIPH2000070", 1970),  # nobody like it
        client("e", "TRNG1000001", 2001),
    ]
    found = {frozenset((a.uuid, b.uuid)) for a, b in matching.blocks(people)}
    assert {frozenset("ab"), frozenset("ac")} <= found  # a swap and a slip at once: not
    assert not any("d" in pair or "e" in pair for pair in found)
    everyone = {frozenset(p) for p in itertools.combinations("abcde", 2)}
    assert found < everyone
    for a, b in matching.blocks(people):  # each pair once
        assert a.uuid < b.uuid or (b.uuid, a.uuid) not in found
