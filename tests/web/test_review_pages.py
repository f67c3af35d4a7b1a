"""The review pages over the Flask test client, with submissions sent the way Collect sends
them: the list and its filters, a submission in full, review, comments, forwarding state,
versions and refused resends, attachments, access and the audit of every look."""

from __future__ import annotations

from sqlalchemy import select

from server.models.audits import Audit
from server.models.deliveries import Delivery
from server.models.types import utcnow
from server.services import submissions
from server.services.submissions import SubmissionFilters
from sync.worker import ATTACHMENT_GRACE
from sync.worker import drain as drain_now
from tests.web.conftest import PNG, review_instance

LIST = "/projects/{p}/forms/review/submissions"


def drain(app) -> int:
    """Forward what is due, as if the grace period for photos still on their way had passed."""
    return drain_now(app, utcnow() + 2 * ATTACHMENT_GRACE)


def send(collect, instance_id: str, files: dict | None = None, **answers) -> int:
    replies = collect.submit(review_instance(instance_id, **answers), files)
    return replies[-1].status


def test_list_shows_each_submission_with_its_review_and_delivery_state(
    login_as, review_form, collect, project
):
    assert send(collect, "uuid:a1", {"proof.png": PNG}, name="Thăm Bình") == 201
    assert send(collect, "uuid:a2", {"proof.png": PNG}, name="Thăm Hà") == 201
    page = login_as("supervisor").get(LIST.format(p=project.id))
    assert page.status_code == 200
    assert "2 phiếu" in page.text
    assert page.text.index("Thăm Hà") < page.text.index("Thăm Bình")  # newest first
    assert "Đang chờ gửi" in page.text  # forwarding on receipt, not yet sent
    assert "TNV Lan" in page.text  # the app user who sent them


def test_filters_narrow_the_list_by_ward_text_review_and_delivery(
    app, login_as, review_form, collect, project, register
):
    send(collect, "uuid:a1", name="Bình", ma_xa="00004", ho_ten="Nguyễn Văn Bình")
    send(collect, "uuid:a2", name="Hà", ma_xa="00008", ho_ten="Trần Thị Hà")
    send(collect, "uuid:a3", name="Đức", ma_xa="00008", ho_ten="Lê Đức")
    register.refuse["uuid:a3"] = 400
    drain(app)
    browser = login_as("supervisor")
    base = LIST.format(p=project.id)

    def names(query: str) -> list[str]:
        text = browser.get(f"{base}?{query}").text
        return sorted(n for n in ("Bình", "Hà", "Đức") if f'<span class="title">{n}<' in text)

    assert names("ward=00008") == ["Hà", "Đức"]
    assert names("q=binh") == ["Bình"]  # no diacritics needed
    assert names("q=TRẦN+hà") == ["Hà"]
    assert names("delivery=dead") == ["Đức"]
    assert names("delivery=delivered") == ["Bình", "Hà"]
    assert names("review=received") == ["Bình", "Hà", "Đức"]
    assert names("review=approved") == []
    assert names("since=2000-01-01&until=2000-01-02") == []
    assert names("submitter=999999") == []
    assert names("ward=00008&q=duc") == ["Đức"]
    assert names("delivery=bogus&since=not-a-date") == ["Bình", "Hà", "Đức"]  # ignored


def test_paging_is_by_id_and_counts_all_matches(db, review_form, collect, project):
    from server.auth.permissions import SYSTEM

    for i in range(5):
        send(collect, f"uuid:p{i}")
    with db.transaction(write=False) as session:
        first = submissions.list_submissions(
            session, SYSTEM, project.id, "review", SubmissionFilters(), page_size=2
        )
        second = submissions.list_submissions(
            session,
            SYSTEM,
            project.id,
            "review",
            SubmissionFilters(before_id=first.next_before_id),
            page_size=2,
        )
        last = submissions.list_submissions(
            session, SYSTEM, project.id, "review", SubmissionFilters(before_id=3), page_size=2
        )
    assert [r.instance_id for r in first.rows] == ["uuid:p4", "uuid:p3"]
    assert [r.instance_id for r in second.rows] == ["uuid:p2", "uuid:p1"]
    assert [r.instance_id for r in last.rows] == ["uuid:p1", "uuid:p0"]
    assert last.next_before_id is None
    assert first.total == second.total == 5


def test_detail_shows_labels_in_the_users_language_selects_repeats_photo_and_map(
    login_as, review_form, collect, project
):
    send(collect, "uuid:a1", {"proof.png": PNG})
    browser = login_as("supervisor")
    url = f"{LIST.format(p=project.id)}/uuid:a1"
    page = browser.get(url).text
    assert "Xã/phường" in page
    assert "Xét nghiệm HIV, Điều trị methadone" in page  # select_multiple as labels
    # A special-category answer is folded away until tapped (a phone in a shared office).
    assert '<details class="reveal"><summary>Thông tin nhạy cảm: bấm để xem</summary>' in page
    assert "<th>Ngày</th><th>Ghi chú</th>" in page  # the repeat as a table
    assert 'data-lat="21.0285" data-lon="105.8542"' in page
    assert '<img class="photo" src="/projects/' in page
    browser.post("/language", {"language": "en", "next": url})
    english = browser.get(url).text
    assert "Commune/ward" in english
    assert "HIV testing, Methadone" in english
    assert "Proof photo" in english


def test_every_look_at_a_submission_is_audited(db, login_as, review_form, collect, project):
    send(collect, "uuid:a1")
    browser = login_as("viewer")
    browser.get(f"{LIST.format(p=project.id)}/uuid:a1")
    browser.get(f"{LIST.format(p=project.id)}/uuid:a1")
    with db.transaction(write=False) as session:
        rows = session.scalars(select(Audit).where(Audit.action == "submission.read")).all()
    assert len(rows) == 2
    assert {r.details["instanceId"] for r in rows} == {"uuid:a1"}
    assert all(r.actor_id is not None for r in rows)


def test_photo_is_served_inline_with_a_type_from_its_name_never_the_phones(
    login_as, review_form, collect, project, db
):
    send(collect, "uuid:a1", {"proof.png": PNG})
    browser = login_as("supervisor")
    response = browser.get(f"{LIST.format(p=project.id)}/uuid:a1/attachments/proof.png")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    with db.transaction(write=False) as session:
        assert session.scalar(select(Audit.id).where(Audit.action == "submission.attachment.read"))


def test_approving_with_a_comment_saves_both_and_forwards_an_on_approval_form(
    app, db, login_as, review_form, collect, project, register
):
    from server.auth.permissions import SYSTEM
    from server.services import forms as form_service

    with db.transaction() as session:
        form_service.set_forward_policy(session, SYSTEM, project.id, "review", "on_approval")
    send(collect, "uuid:a1")
    drain(app)
    assert register.stored == {}
    browser = login_as("supervisor")
    url = f"{LIST.format(p=project.id)}/uuid:a1"
    assert "sau khi phiếu được duyệt" in browser.get(url).text
    response = browser.post(
        f"{url}/review", {"review_state": "approved", "comment": "Đủ thông tin."}
    )
    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).text
    assert "Đã lưu kết quả duyệt" in page
    assert "Đủ thông tin." in page
    assert '<span class="badge ok">Đã duyệt</span>' in page
    drain(app)
    assert len(register.stored) == 1
    assert 'data-state="delivered"' in browser.get(url).text


def test_rejecting_cancels_what_was_not_sent(db, login_as, review_form, collect, project):
    send(collect, "uuid:a1")
    browser = login_as("supervisor")
    url = f"{LIST.format(p=project.id)}/uuid:a1"
    browser.post(f"{url}/review", {"review_state": "rejected"})
    with db.transaction(write=False) as session:
        assert session.scalars(select(Delivery.state)).all() == ["cancelled"]
    assert "Đã hủy" in browser.get(url).text


def test_a_dead_delivery_can_be_sent_again_from_the_page(
    app, db, login_as, review_form, collect, project, register
):
    send(collect, "uuid:a1")
    register.refuse["uuid:a1"] = 400
    drain(app)
    browser = login_as("supervisor")
    url = f"{LIST.format(p=project.id)}/uuid:a1"
    page = browser.get(url).text
    assert 'data-state="dead"' in page
    with db.transaction(write=False) as session:
        delivery_id = session.scalar(select(Delivery.id))
    del register.refuse["uuid:a1"]
    response = browser.post(f"{url}/deliveries/{delivery_id}/retry")
    assert response.status_code == 303
    drain(app)
    assert 'data-state="delivered"' in browser.get(url).text
    assert len(register.stored) == 1


def test_versions_show_what_changed_and_refused_resends_are_listed(
    login_as, review_form, collect, project
):
    assert send(collect, "uuid:v1", ho_ten="Nguyễn Văn Bình") == 201
    edited = review_instance("uuid:v2", deprecated_id="uuid:v1", ho_ten="Nguyễn Văn Bính")
    assert collect.submit(edited)[-1].status == 201
    clash = review_instance("uuid:v1", ho_ten="Someone else")
    assert collect.submit(clash)[-1].status == 409
    page = login_as("supervisor").get(f"{LIST.format(p=project.id)}/uuid:v1").text
    assert "<td>Họ tên</td><td>Nguyễn Văn Bình</td><td>Nguyễn Văn Bính</td>" in page
    assert "Các lần gửi lại bị từ chối" in page
    assert "uuid:v2" in page


def test_comments_are_added_and_shown_with_their_author(login_as, review_form, collect, project):
    send(collect, "uuid:a1")
    browser = login_as("supervisor", email="giam.sat@example.org")
    url = f"{LIST.format(p=project.id)}/uuid:a1"
    assert browser.post(f"{url}/comments", {"body": "Gọi lại cho TNV"}).status_code == 303
    page = browser.get(url).text
    assert "Gọi lại cho TNV" in page
    assert "giam.sat@example.org" in page


def test_a_viewer_reads_but_cannot_review(login_as, review_form, collect, project, db):
    send(collect, "uuid:a1")
    browser = login_as("viewer")
    url = f"{LIST.format(p=project.id)}/uuid:a1"
    assert 'name="review_state"' not in browser.get(url).text
    response = browser.post(f"{url}/review", {"review_state": "approved"})
    assert response.status_code == 403
    assert "không có quyền" in response.text
    with db.transaction(write=False) as session:
        from server.models.submissions import Submission

        assert session.scalar(select(Submission.review_state)) is None


def test_a_supervisor_sees_only_the_projects_they_hold_a_role_in(
    db, login_as, review_form, collect, project
):
    from server.services import projects

    with db.transaction() as session:
        other = projects.create_project(session, None, "Phường khác")
    send(collect, "uuid:a1")
    browser = login_as("supervisor", project_id=other.id)
    home = browser.get("/").text
    assert "Phường khác" in home
    assert project.name not in home
    assert browser.get(f"/projects/{project.id}").status_code == 403
    assert browser.get(LIST.format(p=project.id)).status_code == 403
    assert browser.get(f"{LIST.format(p=project.id)}/uuid:a1").status_code == 403
    attachment = f"{LIST.format(p=project.id)}/uuid:a1/attachments/proof.png"
    assert browser.get(attachment).status_code == 403


def test_an_unknown_submission_is_a_translated_404_page(login_as, review_form, project):
    response = login_as("supervisor").get(f"{LIST.format(p=project.id)}/uuid:nope")
    assert response.status_code == 404
    assert "Trang này không tồn tại" in response.text
    assert response.headers["Content-Type"].startswith("text/html")


def test_pages_carry_a_csp_without_unsafe_inline_and_refuse_framing(login_as):
    response = login_as("supervisor").get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in response.text  # every script is a file
    assert " style=" not in response.text


def test_export_follows_the_filters_and_the_wards_and_is_audited(
    db, login_as, review_form, collect, project
):
    import csv
    import io

    send(collect, "uuid:e1", name="Bình", ma_xa="00004", ho_ten="Nguyễn Văn Bình")
    send(collect, "uuid:e2", name="Hà", ma_xa="00008", ho_ten="=HYPERLINK(1)")
    supervisor = login_as("supervisor")
    page = supervisor.get(f"{LIST.format(p=project.id)}?ward=00008").text
    assert f'href="{LIST.format(p=project.id)}.csv?ward=00008"' in page
    response = supervisor.get(f"{LIST.format(p=project.id)}.csv?ward=00008")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["KEY"] for r in rows] == ["uuid:e2"]  # Central's main table (api/exports.py)
    assert rows[0]["ho_ten"] == "'=HYPERLINK(1)"  # no formula runs in a spreadsheet
    assert rows[0]["nhu_cau"] == "xn_hiv mmt"
    assert rows[0]["SubmitterName"] == "TNV Lan"
    ward = login_as("supervisor", wards=("00004",)).get(f"{LIST.format(p=project.id)}.csv")
    assert [
        r["KEY"] for r in csv.DictReader(io.StringIO(ward.data.decode("utf-8-sig")))
    ] == ["uuid:e1"]
    with db.transaction(write=False) as session:
        exports = session.scalars(select(Audit).where(Audit.action == "submission.export")).all()
    assert len(exports) == 2
    assert exports[0].details["ward"] == "00008"


def test_a_recording_plays_in_the_page(login_as, review_form, collect, project):
    recording = b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 64
    send(collect, "uuid:a1", {"proof.png": PNG, "tieng.m4a": recording}, ghi_am="tieng.m4a")
    browser = login_as("supervisor")
    url = f"{LIST.format(p=project.id)}/uuid:a1"
    assert (
        f'<audio controls preload="none" src="{url}/attachments/tieng.m4a">'
        in browser.get(url).text
    )
    response = browser.get(f"{url}/attachments/tieng.m4a")
    assert response.headers["Content-Type"] == "audio/mp4"
    assert response.data == recording


def test_a_register_address_is_shown_without_its_credentials():
    from server.services.submissions import _shown_target

    shown = _shown_target("https://intake:s3cret@register.example.org:8443/v1/in?key=abc")
    assert shown == "https://register.example.org:8443/v1/in"
    assert _shown_target("dir:/srv/register") == "dir:/srv/register"


def test_the_map_shows_the_wards_points_and_is_audited(db, login_as, review_form, collect, project):
    import json
    import re

    send(collect, "uuid:m1", name="<b>Bình</b>", ma_xa="00004", vi_tri="21.03 105.85 10 4")
    send(collect, "uuid:m2", name="Hà", ma_xa="00008", vi_tri="21.04 105.80 10 4")
    send(collect, "uuid:m3", name="Không GPS", ma_xa="00004", vi_tri="")
    page = login_as("supervisor").get(f"{LIST.format(p=project.id)}/map")
    assert page.status_code == 200
    raw = re.search(r"data-points='([^']*)'", page.text).group(1)
    assert "<b>" not in raw  # names travel escaped, and map.js writes them as text
    points = json.loads(raw.replace("&#39;", "'").replace("&amp;", "&"))
    assert sorted(p["name"] for p in points) == ["<b>Bình</b>", "Hà"]
    assert "2 địa điểm · 3 phiếu" in page.text
    ward = login_as("supervisor", wards=("00008",)).get(f"{LIST.format(p=project.id)}/map")
    assert [
        p["name"] for p in json.loads(re.search(r"data-points='([^']*)'", ward.text).group(1))
    ] == ["Hà"]
    with db.transaction(write=False) as session:
        looks = session.scalars(select(Audit).where(Audit.action == "submission.map.read")).all()
    assert [a.details["points"] for a in looks] == [2, 1]


def test_the_project_page_counts_what_waits_for_or_failed_at_the_register_in_the_wards(
    app, login_as, review_form, collect, project, register
):
    send(collect, "uuid:a1", ma_xa="00004")
    send(collect, "uuid:a2", ma_xa="00008")
    send(collect, "uuid:a3", ma_xa="00008")
    register.refuse["uuid:a3"] = 400
    drain(app)  # a1 and a2 delivered, a3 dead
    send(collect, "uuid:a4", ma_xa="00008")  # not yet sent
    send(collect, "uuid:a5", ma_xa="00004")  # not yet sent

    page = login_as("supervisor").get(f"/projects/{project.id}").text
    assert "2 phiếu chờ gửi lên sổ đăng ký" in page
    assert "1 phiếu sổ đăng ký không nhận" in page
    assert f"{LIST.format(p=project.id)}?delivery=dead" in page  # the list of them, a tap away

    ward = login_as("supervisor", wards=("00004",)).get(f"/projects/{project.id}").text
    assert "1 phiếu chờ gửi lên sổ đăng ký" in ward  # a5 only: 00008 is not this ward's
    assert "không nhận" not in ward


def test_a_supervisor_browses_the_clients_of_its_ward_and_the_look_is_audited(
    app, db, login_as, project
):
    from server.auth.permissions import SYSTEM
    from server.services import entities as entity_service

    with db.transaction() as session:
        dataset = entity_service.ensure_reference_list(session, project.id, "facilities", ["loai"])
        dataset.shared = False  # a list of clients: scoped by ward
        dataset.scope_property = "ma_xa"
        entity_service.add_properties(session, dataset, ["ma_xa", "ngay_tham_cuoi"])
        for label, ward, visit in (
            ("LAHU1150390", "00004", "2026-11-20"),
            ("NGTH2040188", "00008", "2026-10-02"),
            ("TRAN1990012", "00004", ""),
        ):
            entity_service.create_entity(
                session,
                SYSTEM,
                dataset,
                entity_service.new_uuid(),
                label,
                {"ma_xa": ward, "ngay_tham_cuoi": visit},
            )
    ward = login_as("supervisor", wards=("00004",))
    project_page = ward.get(f"/projects/{project.id}").text
    assert "2 mục" in project_page  # the project page counts only this ward's entries
    page = ward.get(f"/projects/{project.id}/lists/facilities").text
    assert "LAHU1150390" in page
    assert "TRAN1990012" in page
    assert "NGTH2040188" not in page  # another ward's client
    assert "20/11/2026" in page, page  # a date as Vietnamese write it (issue 13)
    found = ward.get(f"/projects/{project.id}/lists/facilities?q=lahu").text
    assert "LAHU1150390" in found
    assert "TRAN1990012" not in found
    assert ward.get(f"/projects/{project.id}/lists/nope").status_code == 404
    with db.transaction(write=False) as session:
        looks = session.scalars(select(Audit).where(Audit.action == "entity.list.read")).all()
    assert [a.details["count"] for a in looks] == [2, 1]
