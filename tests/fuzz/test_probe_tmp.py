import requests
from tests.support.xlsforms import visit_xlsx, XLSX_TYPE

PASSWORD = "correct horse battery"

def test_probe(live_server, make_user, project):
    make_user("admin@example.org", PASSWORD, "admin")
    token = requests.post(f"{live_server}/v1/sessions", json={"email": "admin@example.org", "password": PASSWORD}).json()["token"]
    h = {"Authorization": f"Bearer {token}"}
    def post(body, ct, pid=project.id, extra={}):
        r = requests.post(f"{live_server}/v1/projects/{pid}/forms", data=body, headers={**h, "Content-Type": ct, **extra})
        print(r.status_code, r.content[:300])
    post(b"garbage", XLSX_TYPE)
    post(b"PK\x03\x04garbage", XLSX_TYPE)
    post(visit_xlsx()[:2000], XLSX_TYPE)
    post(b"garbage", "application/vnd.ms-excel")
    post(b"<h:html/>", "application/xml")
    post(b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>", "application/xml")
    post(b"\xff\xfe<x/>", "text/xml")
    post(b"", "text/xml")
    post(b"", XLSX_TYPE)
    post(b"x", "text/csv")
    post(b"x", "")
    post(visit_xlsx(), XLSX_TYPE, pid=2**63)
    post(visit_xlsx(), XLSX_TYPE, extra={"X-XlsForm-FormId-Fallback": "%ff%fe"})
    post(visit_xlsx(), XLSX_TYPE, extra={"X-XlsForm-FormId-Fallback": "a" * 5000})
    post(visit_xlsx(), XLSX_TYPE + "; charset=\x01")
    post(visit_xlsx(version="1" * 1000), XLSX_TYPE)
