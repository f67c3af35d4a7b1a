"""The client and referral reads at service level, on the real forms: the history in time
order with labels (never codes), the scope rule (another ward's client is not found, the
rows of another ward are counted and not shown), a merged record saying where it went, and
the audit row each look writes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.errors import InsufficientRights, NotFound
from server.models.audits import Audit
from server.models.entities import Entity
from server.services import clients, users


def principal(site, who: str):
    with site.db.transaction(write=False) as session:
        return users.principal_for_user(session, users.find_user(session, f"{who}@example.org"))


def history(site, who: str, client: str, language: str = "vi"):
    with site.db.transaction() as session:
        return clients.client_history(
            session, principal(site, who), site.project_id, client, language
        )


def test_the_history_is_in_time_order_whatever_the_order_of_arrival(site, people):
    view = history(site, "supervisor", people.a)
    assert [(r.day.isoformat(), r.xml_form_id) for r in view.history] == [
        ("2026-03-01", "f1_dang_ky"),
        ("2026-03-05", "f2_gap_go"),
        ("2026-03-05", "f3_chuyen_gui"),
        ("2026-03-10", "f4_ket_qua_cg"),
        ("2026-03-15", "f4_ket_qua_cg"),
        ("2026-04-01", "f5_tham_nha"),
        ("2026-04-10", "f6_sinh_hoat"),
        ("2026-05-01", "f7_cap_nhat"),
    ]
    assert [r.instance_id for r in view.history if r.referral == people.referral] == [
        "uuid:a-f3",
        "uuid:a-f4a",
        "uuid:a-f4b",
    ]
    assert view.history[6].attendees == 2  # the group session lists A among its attendees


def test_properties_and_history_speak_labels_not_codes(site, people):
    view = history(site, "supervisor", people.a)
    shown = {p.name: (p.label, p.value) for p in view.properties}
    assert shown["gioi"] == ("Giới tính khi sinh", "Nam")
    assert shown["ma_xa"] == ("Xã/Phường/Đặc khu", "Phường Bồ Đề")
    assert shown["trang_thai"] == ("Tình trạng hồ sơ", "Tạm dừng")
    assert shown["ngay_dk"][1] == "01/03/2026"
    referral = next(r for r in view.history if r.xml_form_id == "f3_chuyen_gui")
    assert (referral.summary, referral.sensitive) == ("Xét nghiệm HIV", "special")
    outcome = next(r for r in view.history if r.instance_id == "uuid:a-f4b")
    assert outcome.summary.startswith("Đã nhận dịch vụ")
    status = view.history[-1]
    assert status.summary == "Tạm giữ/thi hành án"
    english = history(site, "supervisor", people.a, "en")
    assert {p.name: p.value for p in english.properties}["gioi"] == "Male"
    assert next(r for r in english.history if r.referral).summary == "HIV testing"
    every = " ".join([p.value for p in view.properties] + [r.summary for r in view.history])
    for code in ("xn_hiv", "tam_giu", "da_nhan", "tam_dung"):
        assert code not in every


def test_special_category_properties_keep_their_mark(site, people):
    view = history(site, "supervisor", people.a)
    sensitive = {p.name for p in view.properties if p.sensitive == "special"}
    assert {"nhom", "sau_cai", "nguon"} <= sensitive
    assert "gioi" not in sensitive


def test_another_wards_client_is_not_found_and_nothing_is_told(site, people):
    with pytest.raises(NotFound) as refused:
        history(site, "ward_supervisor", people.a)  # a supervisor of 00004 only
    with pytest.raises(NotFound) as unknown:
        history(site, "ward_supervisor", "0b5e4a3c-9d2f-4e1a-8b7c-6d5e4f3a2b1c")
    assert refused.value.message == unknown.value.message
    with pytest.raises(InsufficientRights):
        history(site, "collector", people.a)


def test_a_ward_supervisor_sees_only_the_rows_of_their_ward(site, people):
    view = history(site, "ward_supervisor", people.b)  # B lives in 00004, was met in 00118
    assert [r.xml_form_id for r in view.history] == ["f1_dang_ky", "f7_cap_nhat"]
    assert view.hidden == 1
    everything = history(site, "manager", people.b)
    assert [r.xml_form_id for r in everything.history] == [
        "f1_dang_ky",
        "f2_gap_go",
        "f7_cap_nhat",
    ]
    assert everything.hidden == 0
    assert view.merged_into is not None  # told it was merged, not into which record:
    assert view.merged_into.uuid is None  # A lives in 00118, outside this supervisor's ward
    assert view.merged_into.label is None
    assert view.history[-1].merged_into.uuid is None
    merged = {p.name: p for p in view.properties}["gop_vao"]
    assert (merged.value, merged.raw, merged.link) == ("một hồ sơ bạn không được xem", "", None)


def test_a_merged_record_says_where_it_went_and_the_survivor_lists_it(site, people):
    merged = history(site, "manager", people.b)
    assert merged.merged_into.uuid == people.a
    assert merged.merged_into.label.startswith("LAHU")
    assert merged.history[-1].merged_into.uuid == people.a
    survivor = history(site, "manager", people.a)
    assert [m.uuid for m in survivor.merged_from] == [people.b]


def test_every_look_is_audited_with_counts_only(site, people):
    with site.db.transaction(write=False) as session:
        entity_id = session.scalar(select(Entity.id).where(Entity.uuid == people.a))
        before = session.scalar(
            select(Audit.id).where(Audit.action == "client.read").order_by(Audit.id.desc())
        )
    view = history(site, "viewer", people.a)
    with site.db.transaction(write=False) as session:
        row = session.scalars(
            select(Audit).where(Audit.action == "client.read", Audit.id > (before or 0))
        ).one()
    assert (row.subject_type, row.subject_id) == ("entity", entity_id)
    assert row.details == {"uuid": people.a, "rows": len(view.history), "hidden": 0}
    assert row.actor_id == principal(site, "viewer").actor_id


def test_a_referral_is_found_by_its_uuid_or_its_slip_and_lists_its_outcomes(site, people):
    who = principal(site, "supervisor")
    with site.db.transaction() as session:
        by_slip = clients.referral_detail(session, who, site.project_id, "uuid:a-f3", "vi")
        by_uuid = clients.referral_detail(session, who, site.project_id, people.referral, "en")
    assert by_slip.uuid == by_uuid.uuid == people.referral
    assert (by_slip.service, by_slip.due, by_slip.referred_on) == (
        "Xét nghiệm HIV",
        "19/03/2026",
        "05/03/2026",
    )
    assert by_slip.status == "Đã nhận dịch vụ"
    assert [o.instance_id for o in by_slip.outcomes] == ["uuid:a-f4a", "uuid:a-f4b"]
    assert by_slip.client.uuid == people.a
    assert by_slip.client.label
    assert by_uuid.service == "HIV testing"
    with site.db.transaction() as session, pytest.raises(NotFound):
        clients.referral_detail(
            session, principal(site, "ward_supervisor"), site.project_id, people.referral, "vi"
        )
    with site.db.transaction(write=False) as session:
        assert session.scalars(select(Audit).where(Audit.action == "referral.read")).all()


def test_submissions_name_their_client_with_a_built_title(site, people):
    from server.models.submissions import Submission

    who = principal(site, "supervisor")
    with site.db.transaction(write=False) as session:
        ids = dict(session.execute(select(Submission.instance_id, Submission.id)).all())
        links = clients.submission_links(
            session, who, site.project_id, [ids["uuid:a-f2"], ids["uuid:a-f4b"]], "vi"
        )
    contact, outcome = links[ids["uuid:a-f2"]], links[ids["uuid:a-f4b"]]
    assert contact.client.uuid == people.a
    assert contact.title == f"{contact.client.label} · 05/03/2026"
    assert outcome.client.uuid == people.a  # through its referral's slip
    assert outcome.referral == people.referral
    # the service is special (F3 marks it): a title is never folded, so it stays out
    assert outcome.title == f"{outcome.client.label} · 15/03/2026"
