"""docker-compose.yml and Dockerfile cannot run here (no Docker engine), so this checks that
every service, variable, command and file they name exists in the project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml  # PyYAML comes with moto[server] in requirements-dev.txt

from server.settings import DOCUMENTED

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENV = COMPOSE["x-env"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_all_services_exist_with_health_checks_where_they_serve():
    assert set(SERVICES) == {"db", "minio", "createbucket", "migrate", "web", "worker"}
    for name in ("db", "minio", "web"):
        assert "healthcheck" in SERVICES[name], name


def test_web_and_worker_start_after_migrations_and_buckets():
    for name in ("web", "worker"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["createbucket"]["condition"] == "service_completed_successfully"


def test_web_worker_and_migrate_share_one_image_and_environment():
    for name in ("web", "worker", "migrate"):
        assert SERVICES[name]["build"] == "."
        assert SERVICES[name]["environment"] == ENV


def test_every_variable_is_documented_or_belongs_to_a_dependency():
    foreign = re.compile(r"^(AWS_|POSTGRES_|MINIO_)")
    unknown = {k for k in ENV if k not in DOCUMENTED and not foreign.match(k)}
    assert unknown == set()


@pytest.mark.parametrize("name", ["DATABASE_URL", "BLOB_STORE", "SECRET_KEY", "PUBLIC_URL",
                                  "S3_ENDPOINT_URL", "REGISTER_TARGET", "EMBEDDED_WORKER"])
def test_production_settings_are_set(name):
    assert ENV.get(name)


def test_the_web_process_does_not_run_the_embedded_worker():
    assert ENV["EMBEDDED_WORKER"] == "no"
    assert ENV["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_no_secret_is_written_in_the_file():
    for key, value in ENV.items():
        if re.search(r"SECRET|PASSWORD|KEY", key) and key != "AWS_DEFAULT_REGION":
            assert str(value).startswith("${"), key
    assert SERVICES["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${")


def test_commands_name_things_that_exist():
    assert SERVICES["web"]["command"][-1] == "wsgi:app"
    assert re.search(r"^app = ", (ROOT / "wsgi.py").read_text(), flags=re.M)
    assert SERVICES["migrate"]["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    cli = (ROOT / "server/cli.py").read_text()
    assert 'AppGroup("db"' in cli
    assert '"upgrade"' in cli
    assert SERVICES["worker"]["command"] == ["python", "-m", "sync"]
    assert (ROOT / "sync/__main__.py").exists()


def test_dockerfile_copies_files_that_exist_and_installs_java_and_requirements():
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert "pip install --no-cache-dir -r requirements.txt" in DOCKERFILE
    assert "default-jre-headless" in DOCKERFILE
    assert "USER donghanh" in DOCKERFILE
