"""What the XForm reader takes from details Collect relies on: media named by search()
appearances in any quoting, default images, and labels that show an answer."""

from __future__ import annotations

import pytest

from forms import compile_xlsform, read_xform
from forms.xml import parse


def schema(md: str):
    return read_xform(compile_xlsform(md.encode(), filename="f.md", validate=False).xform)


@pytest.mark.parametrize(
    "appearance",
    ["search('wards')", 'search("wards")', "search ('wards.csv', 'matches', 'ma', '01')"],
)
def test_search_appearances_expect_their_csv_whatever_the_quoting(appearance):
    md = f"""
| survey  |                 |      |       |              |
|         | type            | name | label | appearance   |
|         | select_one list | x    | X     | {appearance} |
| choices |                 |      |       |              |
|         | list_name       | name | label |              |
|         | list            | ma   | ma    |              |
"""
    assert [m.name for m in schema(md).media] == ["wards.csv"]


def test_a_default_image_is_expected_media():
    md = """
| survey |       |      |       |                      |
|        | type  | name | label | default              |
|        | image | anh  | Ảnh   | jr://images/mau.png  |
"""
    media = {m.name: m.type for m in schema(md).media}
    assert media == {"mau.png": "image"}


def test_a_label_that_shows_an_answer_keeps_its_reference():
    md = """
| survey |      |       |                                  |
|        | type | name  | label                            |
|        | text | ten   | Tên                              |
|        | note | chao  | Xin chào ${ten}, cảm ơn.         |
"""
    field = schema(md).field("/data/chao")
    assert next(iter(field.labels.values())) == "Xin chào ${ten}, cảm ơn."


def test_text_is_refused_by_the_parser():
    with pytest.raises(TypeError):
        parse("<data/>")
