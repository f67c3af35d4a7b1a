"""A programme site for the duplicate tests: `flask init`'s real forms (F1-F7), one phone in
Phường Bồ Đề (00118) and one in Phường Ba Đình (00004), both in Hà Nội, registering clients
over real HTTP as Collect does; and web users of both wards, of one, and viewers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import pytest

from server.services import projects, users
from tests.entities.test_follow_up import phone_of
from tests.indicators import programme as p
from tests.support.collect import Collect

WARD_A, WARD_B = "00118", "00004"
PASSWORD = "correct horse battery"


@dataclass
class Site:
    app: object
    db: object
    url: str
    project_id: int
    phones: dict[str, Collect]
    users: dict[str, str] = field(default_factory=dict)  # name -> email

    def register(self, ward: str, uic: str, year: int, sex: str = "1", day="2026-01-05") -> str:
        """A client registered on the ward's phone (the real F1); its uuid."""
        client = p.new_id()
        xml = p.f1(f"uuid:{p.new_id()}", client, day, ward=ward, sex=sex, birth_year=year, uic=uic)
        [reply] = self.phones[ward].submit(xml)
        assert reply.status == 201, reply.message
        return client

    def principal(self, name: str):
        with self.db.transaction(write=False) as session:
            return users.principal_for_user(session, users.find_user(session, self.users[name]))

    def phone_list(self, ward: str) -> list[str]:
        """The names in clients.csv as the ward's phone downloads it for F2."""
        phone = self.phones[ward]
        listing = {f["formID"]: f for f in phone.form_list()}
        files = {m["filename"]: m for m in phone.manifest(listing["f2_gap_go"]["manifestUrl"])}
        text = phone.get(files["clients.csv"]["downloadUrl"]).text
        return [row["name"] for row in csv.DictReader(io.StringIO(text))]

    def integrity(self, ward: str, *ids: str) -> str:
        phone = self.phones[ward]
        return phone.get(f"{phone.server_url}/datasets/clients/integrity?id={','.join(ids)}").text


@pytest.fixture
def site(app, db, live_server, project, settings) -> Site:
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        project_id = projects.list_projects(session)[0].id
    phones = {w: phone_of(db, live_server, project_id, w) for w in (WARD_A, WARD_B)}
    made = Site(app, db, live_server, project_id, phones)
    roles = {
        "supervisor": ("supervisor", ()),
        "both_wards": ("supervisor", (WARD_A, WARD_B)),
        "ward_a": ("supervisor", (WARD_A,)),
        "ward_manager": ("manager", (WARD_A,)),
        "viewer": ("viewer", ()),
    }
    with db.transaction() as session:
        for name, (role, wards) in roles.items():
            email = f"{name}@example.org"
            users.create_user(
                session, None, email, PASSWORD, settings.digest_realm, role, project_id, wards
            )
            made.users[name] = email
    return made
