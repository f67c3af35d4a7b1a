"""Settings: embedded defaults, validation, and the README table that documents every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.settings import DOCUMENTED, Settings, SettingsError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_are_embedded_under_the_instance_folder(tmp_path):
    s = Settings.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/donghanh.db"
    assert s.blob_store == f"file:{tmp_path}/blobs"
    assert s.register_targets == [f"dir:{tmp_path}/register"]
    assert s.public_url == "http://127.0.0.1:8080"
    assert s.max_submission_bytes == 100_000_000


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    s = Settings.from_env({"INSTANCE_PATH": str(tmp_path)})
    first = s.with_secret_key().secret_key
    assert len(first) > 40
    assert s.with_secret_key().secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("BLOB_STORE", "ftp://x", "BLOB_STORE"),
        ("REGISTER_TARGET", "dir:/a, gopher://b", "gopher"),
        ("MAX_SUBMISSION_BYTES", "lots", "integer"),
        ("PUBLIC_URL", "example.org", "PUBLIC_URL"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(tmp_path, name, value, words):
    with pytest.raises(SettingsError, match=words):
        Settings.from_env({"INSTANCE_PATH": str(tmp_path), name: value})


def test_every_field_is_documented_and_the_readme_table_lists_them_all():
    fields = {f.upper() for f in Settings.__dataclass_fields__}
    assert fields == set(DOCUMENTED)
    table = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README.read_text(), flags=re.M))
    assert table == set(DOCUMENTED)
