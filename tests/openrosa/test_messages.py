"""What Collect shows a volunteer: Vietnamese by default (Collect sends no Accept-Language),
with the problem's code; Central's English texts for a phone that asks for English."""

from __future__ import annotations

from server.errors import Problem
from tests.support.collect import Collect
from tests.support.xmls import instance

UUID1 = "uuid:6f2f8e4a-3c2b-4d8e-9a51-0c1b2a3d4e5f"


def visit(**answers) -> bytes:
    return instance("visit", UUID1, ma_kh="LAHU1M1990", **answers)


def test_a_stored_record_and_a_refused_resend_are_told_in_vietnamese(collect, visit_form):
    [stored] = collect.submit(visit(gap="co"))
    assert stored.status == 201
    assert stored.message == "Đã gửi phiếu lên máy chủ."
    assert stored.headers["Content-Language"] == "vi"
    [refused] = collect.submit(visit(gap="khong"))
    assert refused.status == 409
    assert refused.message == (
        "Máy chủ đã có một phiếu cùng mã nhưng câu trả lời khác, nên phiếu này không được "
        "nhận. Hãy báo giám sát viên. (409.1)"
    )


def test_a_form_not_on_the_server_and_a_revoked_phone_are_told_in_vietnamese(
    collect, visit_form, live_server, app_user, db
):
    [missing] = collect.submit(instance("khong_co", UUID1, gap="co"))
    assert missing.status == 404
    assert missing.message.startswith("Máy chủ không có biểu mẫu hoặc tệp này.")
    from server.auth.permissions import SYSTEM
    from server.services import app_users

    with db.transaction() as session:
        app_users.revoke_app_user(session, SYSTEM, app_user.actor_id)
    response = collect.get(f"{collect.server_url}/formList")
    assert response.status_code == 403
    assert "mã QR có thể đã bị thu hồi" in response.text


def test_a_phone_that_asks_for_english_reads_centrals_messages(live_server, app_user, visit_form):
    phone = Collect(app_user.server_url(live_server), language="en-GB,en;q=0.8")
    [stored] = phone.submit(visit(gap="co"))
    assert stored.message == "full submission upload was successful!"
    assert stored.headers["Content-Language"] == "en"
    [refused] = phone.submit(visit(gap="khong"))
    assert "different XML" in refused.message


def test_an_unexpected_error_keeps_the_record_on_the_phone_in_vietnamese(app, live_server):
    from server.openrosa import messages

    with app.test_request_context(headers={"Accept-Language": "fr"}):
        text, language = messages.for_problem(Problem())
    assert language == "vi"  # a language we do not speak: Vietnamese
    assert (
        text
        == "Máy chủ chưa làm được việc này. Phiếu vẫn được giữ trên điện thoại: hãy gửi lại sau. (500.1)"
    )
