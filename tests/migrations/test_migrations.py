"""Migrations: one head, and the migrated schema equals the models (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

import server.models  # noqa: F401
from server.db import Base
from server.migrate import alembic_config, upgrade


def test_migrations_have_a_single_head(database_url):
    script = ScriptDirectory.from_config(alembic_config(database_url))
    assert len(script.get_heads()) == 1


def test_migrated_schema_matches_the_models(migrated):
    engine = create_engine(migrated)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """An empty database beside the test one: a file on SQLite, a schema on PostgreSQL."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS migration_scratch CASCADE"))
        conn.execute(text("CREATE SCHEMA migration_scratch"))
    separator = "&" if "?" in database_url else "?"
    yield f"{database_url}{separator}options=-csearch_path%3Dmigration_scratch"
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA migration_scratch CASCADE"))
    engine.dispose()


def _project(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO projects (id, name, created_at, archived) "
            "VALUES (1, 'P', CURRENT_TIMESTAMP, false)"
        )
    )


def _app_user(conn, actor_id: int, name: str) -> None:
    conn.execute(
        text(
            "INSERT INTO actors (id, type, display_name, created_at) "
            "VALUES (:id, 'field_key', :name, CURRENT_TIMESTAMP)"
        ),
        {"id": actor_id, "name": name},
    )
    conn.execute(
        text("INSERT INTO app_users (actor_id, project_id) VALUES (:id, 1)"), {"id": actor_id}
    )


def test_phones_set_up_before_form_assignments_keep_every_form(scratch_url):
    upgrade(scratch_url, "0010")
    engine = create_engine(scratch_url)
    with engine.begin() as conn:
        _project(conn)
        _app_user(conn, 1, "TNV")
    upgrade(scratch_url, "0011")
    with engine.begin() as conn:
        _app_user(conn, 2, "Mới")
        rows = conn.execute(text("SELECT actor_id, all_forms FROM app_users ORDER BY 1")).all()
    engine.dispose()
    assert [(a, bool(f)) for a, f in rows] == [(1, True), (2, False)]


def test_lists_naming_a_facility_reach_the_phones_serving_it_after_migrating(scratch_url):
    upgrade(scratch_url, "0011")
    engine = create_engine(scratch_url)
    with engine.begin() as conn:
        _project(conn)
        for dataset_id, name, shared in ((1, "referrals", False), (2, "sites", True)):
            conn.execute(
                text(
                    "INSERT INTO datasets (id, project_id, name, approval_required, shared, "
                    "created_at, changed_at) VALUES (:id, 1, :name, false, :shared, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": dataset_id, "name": name, "shared": shared},
            )
            conn.execute(
                text(
                    "INSERT INTO dataset_properties (dataset_id, name, created_at) "
                    "VALUES (:id, 'co_so', CURRENT_TIMESTAMP)"
                ),
                {"id": dataset_id},
            )
    upgrade(scratch_url, "0012")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT name, site_property FROM datasets ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("referrals", "co_so"), ("sites", None)]


def test_phones_set_up_with_a_facility_code_serve_the_facility_stored_lower_cased(scratch_url):
    upgrade(scratch_url, "0013")
    engine = create_engine(scratch_url)
    with engine.begin() as conn:
        _project(conn)
        conn.execute(
            text(
                "INSERT INTO datasets (id, project_id, name, approval_required, shared, "
                "created_at, changed_at) VALUES (1, 1, 'facilities', false, true, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO entities (dataset_id, uuid, label, data, version, created_at) "
                "VALUES (1, 'vct-01', 'VCT Long Biên', '{}', 1, CURRENT_TIMESTAMP)"
            )
        )
        for actor_id, sites in ((1, ("VCT-01", "PREP-02")), (2, ("VCT-01", "vct-01"))):
            _app_user(conn, actor_id, f"Phone {actor_id}")
            for site in sites:
                conn.execute(
                    text("INSERT INTO app_user_sites (actor_id, site) VALUES (:a, :s)"),
                    {"a": actor_id, "s": site},
                )
    upgrade(scratch_url, "0014")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT actor_id, site FROM app_user_sites ORDER BY 1, 2")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(1, "PREP-02"), (1, "vct-01"), (2, "vct-01")]


def _version(conn, version_id: int, instance_id: str, deprecated_id: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO submission_versions (id, submission_id, form_id, form_version_id, "
            "instance_id, deprecated_id, xml, sha256, current, created_at) VALUES (:id, 1, 1, 1, "
            ":iid, :did, :xml, 'x', :cur, CURRENT_TIMESTAMP)"
        ),
        {"id": version_id, "iid": instance_id, "did": deprecated_id, "xml": b"<d/>", "cur": True},
    )


def test_a_database_with_a_forked_edit_stops_the_upgrade_and_names_it(scratch_url):
    upgrade(scratch_url, "0013")
    engine = create_engine(scratch_url)
    with engine.begin() as conn:
        _project(conn)
        conn.execute(
            text(
                "INSERT INTO forms (id, project_id, xml_form_id, state, created_at) "
                "VALUES (1, 1, 'visit', 'open', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO form_versions (id, form_id, version, title, xml, md5, sha256, "
                "created_at) VALUES (1, 1, '1', 'V', :xml, 'm', 's', CURRENT_TIMESTAMP)"
            ),
            {"xml": b"<h/>"},
        )
        conn.execute(
            text(
                "INSERT INTO submissions (id, form_id, instance_id, created_at) "
                "VALUES (1, 1, 'uuid:a', CURRENT_TIMESTAMP)"
            )
        )
        _version(conn, 1, "uuid:a", None)
        _version(conn, 2, "uuid:b", "uuid:a")  # two edits superseding uuid:a: a fork
        _version(conn, 3, "uuid:c", "uuid:a")
    with pytest.raises(RuntimeError, match=r"form 1 deprecatedID uuid:a \(2 versions\)"):
        upgrade(scratch_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM submission_versions WHERE id = 3"))
    upgrade(scratch_url)
    with engine.begin() as conn, pytest.raises(IntegrityError):
        _version(conn, 4, "uuid:d", "uuid:a")
    engine.dispose()


def test_accounts_with_an_ha1_keep_digest_after_migrating(scratch_url):
    """Digest became opt-in (0018): every account that had an HA1 keeps it, flag on."""
    upgrade(scratch_url, "0013")
    engine = create_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO actors (id, type, display_name, created_at) "
                "VALUES (1, 'user', 'tnv@example.org', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (actor_id, email, password_hash, digest_realm, digest_ha1) "
                "VALUES (1, 'tnv@example.org', 'argon2', 'donghanh', :ha1)"
            ),
            {"ha1": "0" * 32},
        )
    upgrade(scratch_url, "0018")
    with engine.begin() as conn:
        row = conn.execute(text("SELECT uses_digest, digest_ha1 FROM users")).one()
    engine.dispose()
    assert (bool(row[0]), row[1]) == (True, "0" * 32)


def test_indicator_facts_are_filled_for_the_submissions_already_stored(scratch_url):
    """0020 parses the current version of each stored programme submission once: an old
    version is not counted, a deleted or rejected one is kept but not live, a draft and
    another form's submission get no facts."""
    from tests.indicators import programme

    upgrade(scratch_url, "0019")
    engine = create_engine(scratch_url)
    with engine.begin() as conn:
        _project(conn)
        for form_id, xml_form_id in ((1, "f2_gap_go"), (2, "visit")):
            conn.execute(
                text(
                    "INSERT INTO forms (id, project_id, xml_form_id, state, created_at) "
                    "VALUES (:id, 1, :x, 'open', CURRENT_TIMESTAMP)"
                ),
                {"id": form_id, "x": xml_form_id},
            )
            conn.execute(
                text(
                    "INSERT INTO form_versions (id, form_id, version, title, xml, md5, sha256, "
                    "created_at) VALUES (:id, :id, '1', 'V', :xml, 'm', 's', CURRENT_TIMESTAMP)"
                ),
                {"id": form_id, "xml": b"<h/>"},
            )
        rows = [  # (submission, form, draft, deleted, review state, versions: (day, current))
            (1, 1, False, False, None, (("2026-01-05", False), ("2026-01-10", True))),
            (2, 1, False, True, None, (("2026-01-11", True),)),
            (3, 1, False, False, "rejected", (("2026-01-12", True),)),
            (4, 2, False, False, None, (("2026-01-13", True),)),
            (5, 1, True, False, None, (("2026-01-14", True),)),
        ]
        version_id = 0
        for sid, form_id, draft, deleted, state, versions in rows:
            conn.execute(
                text(
                    "INSERT INTO submissions (id, form_id, instance_id, draft, review_state, "
                    "created_at, deleted_at) VALUES (:id, :f, :iid, :draft, :state, "
                    "CURRENT_TIMESTAMP, :deleted)"
                ),
                {
                    "id": sid,
                    "f": form_id,
                    "iid": f"uuid:s{sid}",
                    "draft": draft,
                    "state": state,
                    "deleted": "2026-02-01 00:00:00" if deleted else None,
                },
            )
            for day, current in versions:
                version_id += 1
                xml = programme.f2(f"uuid:v{version_id}", None, day)
                if form_id == 2:
                    xml = xml.replace(b'id="f2_gap_go"', b'id="visit"')
                conn.execute(
                    text(
                        "INSERT INTO submission_versions (id, submission_id, form_id, "
                        "form_version_id, instance_id, xml, sha256, current, created_at) "
                        "VALUES (:id, :sid, :f, :f, :iid, :xml, 'x', :cur, CURRENT_TIMESTAMP)"
                    ),
                    {
                        "id": version_id,
                        "sid": sid,
                        "f": form_id,
                        "iid": f"uuid:v{version_id}",
                        "xml": xml,
                        "cur": current,
                    },
                )
    upgrade(scratch_url, "0020")
    with engine.begin() as conn:
        facts = conn.execute(
            text(
                "SELECT submission_id, form, CAST(day AS VARCHAR(10)), live, co_ma, ma_xa "
                "FROM indicator_facts ORDER BY submission_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(f) for f in facts] == [
        (1, "f2_gap_go", "2026-01-10", True, "khong", "00118"),
        (2, "f2_gap_go", "2026-01-11", False, "khong", "00118"),
        (3, "f2_gap_go", "2026-01-12", False, "khong", "00118"),
    ]
