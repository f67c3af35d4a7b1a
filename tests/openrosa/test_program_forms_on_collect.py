"""After `flask init`, every program form a phone downloads comes with every file it expects
(wards, entity lists, reference lists), so none fails to open in Collect."""

from __future__ import annotations

import hashlib

import forms
from tests.support.collect import Collect


def test_every_published_program_form_has_all_its_files(app, live_server, app_user):
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    phone = Collect(app_user.server_url(live_server))
    listed = phone.form_list()
    assert sorted(f["formID"] for f in listed) == [
        "f1_dang_ky",
        "f2_gap_go",
        "f3_chuyen_gui",
        "f4_ket_qua_cg",
        "f5_tham_nha",
        "f6_sinh_hoat",
        "f7_cap_nhat",
    ]
    for item in listed:
        xml = phone.get(item["downloadUrl"]).content
        assert item["hash"] == "md5:" + hashlib.md5(xml).hexdigest()
        expected = {m.name for m in forms.read_xform(xml).media}
        files = phone.manifest(item["manifestUrl"])
        assert {f["filename"] for f in files} == expected, item["formID"]
        for f in files:
            assert phone.get(f["downloadUrl"]).status_code == 200, (item["formID"], f)
