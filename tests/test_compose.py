"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so these tests check
that every service, variable, command and path they name exists in the project."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml  # PyYAML: pinned in requirements-dev.txt, and a dependency of moto there anyway
from flask import Flask

from server.cli import register_cli
from server.settings import DOCUMENTED

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENV = COMPOSE["x-env"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
APP_SERVICES = ("web", "worker", "migrate")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|KEY")
REQUIRED_REFERENCE = re.compile(r"\$\{(\w+):\?[^}]+\}")


def _instructions(keyword: str) -> list[list[str]]:
    """Arguments of each Dockerfile instruction `keyword`, with --flags dropped."""
    found = []
    for line in DOCKERFILE.splitlines():
        if line.startswith(keyword + " "):
            found.append([w for w in line.split()[1:] if not w.startswith("--")])
    return found


def _all_environments() -> list[tuple[str, dict]]:
    envs = [("x-env", ENV)]
    envs += [(name, s["environment"]) for name, s in SERVICES.items() if "environment" in s]
    return envs


def test_compose_defines_the_seven_services():
    assert set(SERVICES) == {"db", "minio", "createbucket", "migrate", "web", "worker", "proxy"}


# --- The TLS proxy in front of gunicorn ------------------------------------------------


CADDYFILE_PATH = SERVICES["proxy"]["volumes"][0].split(":")[0]
CADDYFILE = (ROOT / CADDYFILE_PATH).read_text()


def _web_port() -> str:
    command = SERVICES["web"]["command"]
    return command[command.index("--bind") + 1].rsplit(":", 1)[1]


def test_the_proxy_is_a_pinned_caddy_image_publishing_only_https_and_its_redirect():
    assert re.fullmatch(r"caddy:\d+\.\d+\.\d+(-alpine)?", SERVICES["proxy"]["image"])
    published = {p.split(":")[0] for p in SERVICES["proxy"]["ports"]}
    assert published == {"80", "443"}


def test_only_the_proxy_is_published_to_the_host():
    published = [name for name, s in SERVICES.items() if "ports" in s]
    assert published == ["proxy"]
    assert SERVICES["web"]["expose"] == [_web_port()]


def test_the_caddyfile_is_in_the_repository_and_proxies_to_gunicorn():
    assert CADDYFILE_PATH.startswith("./docs/")
    assert SERVICES["proxy"]["volumes"][0].endswith(":/etc/caddy/Caddyfile:ro")
    assert re.search(rf"^\s*reverse_proxy web:{_web_port()}\b", CADDYFILE, flags=re.M)
    assert re.search(r"^\{\$DOMAIN\} \{", CADDYFILE, flags=re.M)  # a host name: automatic TLS
    assert REQUIRED_REFERENCE.fullmatch(SERVICES["proxy"]["environment"]["DOMAIN"])


def test_the_proxy_refuses_metrics():
    assert re.search(r"^\s*respond /metrics 40\d", CADDYFILE, flags=re.M)


def test_the_app_trusts_exactly_the_proxys_fixed_address_on_the_network_it_shares_with_web():
    [(network, settings)] = SERVICES["proxy"]["networks"].items()
    assert network in SERVICES["web"]["networks"]
    assert ENV["TRUSTED_PROXIES"] == settings["ipv4_address"]
    subnet = COMPOSE["networks"][network]["ipam"]["config"][0]["subnet"]
    import ipaddress

    assert ipaddress.ip_address(ENV["TRUSTED_PROXIES"]) in ipaddress.ip_network(subnet)


def test_gunicorn_believes_no_forwarded_header_itself():
    from gunicorn.config import Config

    config = Config()
    namespace = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    for name in ("forwarded_allow_ips", "secure_scheme_headers"):
        config.set(name, namespace[name])
    assert config.forwarded_allow_ips == []
    assert config.secure_scheme_headers == {}


@pytest.mark.parametrize("name", ["web", "db", "minio"])
def test_serving_service_has_a_healthcheck(name):
    assert SERVICES[name]["healthcheck"]["test"]


def test_db_is_postgresql_16_checked_with_pg_isready():
    assert SERVICES["db"]["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(SERVICES["db"]["healthcheck"]["test"])


def test_web_healthcheck_connects_to_the_port_gunicorn_binds():
    port = SERVICES["web"]["command"][SERVICES["web"]["command"].index("--bind") + 1]
    probe = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "socket.create_connection" in probe
    assert f"'127.0.0.1', {port.rsplit(':', 1)[1]})" in probe


@pytest.mark.parametrize("name", ["web", "worker"])
def test_app_process_waits_for_migrate_and_createbucket_to_complete(name):
    depends = SERVICES[name]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["createbucket"]["condition"] == "service_completed_successfully"


def test_migrate_waits_for_a_healthy_database():
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_createbucket_makes_the_blob_and_register_buckets():
    script = SERVICES["createbucket"]["entrypoint"]
    buckets = {
        re.search(r"s3://([^/}]+)", ENV[name]).group(1)
        for name in ("BLOB_STORE", "REGISTER_TARGET")
    }
    assert len(buckets) == 2
    assert "mc mb" in script
    for bucket in buckets:
        assert f"local/{bucket}" in script, bucket


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_the_one_image_with_the_shared_env(name):
    assert SERVICES[name]["build"] == "."
    assert SERVICES[name]["environment"] == ENV


def test_shared_env_names_only_documented_or_dependency_variables():
    foreign = re.compile(r"^(AWS_|POSTGRES_|MINIO_)")
    unknown = {k for k in ENV if k not in DOCUMENTED and not foreign.match(k)}
    assert unknown == set()


@pytest.mark.parametrize(
    "name",
    [
        "DATABASE_URL",
        "BLOB_STORE",
        "SECRET_KEY",
        "PUBLIC_URL",
        "S3_ENDPOINT_URL",
        "REGISTER_TARGET",
        "EMBEDDED_WORKER",
    ],
)
def test_shared_env_sets_production_setting(name):
    assert isinstance(ENV.get(name), str)
    assert ENV[name].strip()


def test_shared_env_turns_off_the_embedded_worker_on_postgresql():
    assert ENV["EMBEDDED_WORKER"] == "no"  # a bare `no` would load as False: it must be quoted
    assert ENV["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert ENV["BLOB_STORE"].startswith("s3://")


def test_secret_values_are_references_to_the_operators_env():
    for where, env in _all_environments():
        for key, value in env.items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+(:[-?][^}]*)?\}", str(value)), (where, key)


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"]
)
def test_required_secret_is_demanded_from_env(name):
    text = json.dumps(COMPOSE)
    used = {m.group(0) for m in re.finditer(rf"\$\{{{name}\b[^}}]*\}}", text)}
    assert used, name
    assert all(REQUIRED_REFERENCE.fullmatch(u) for u in used), used


def test_database_url_password_is_the_required_postgres_password():
    password = ENV["DATABASE_URL"].split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert REQUIRED_REFERENCE.fullmatch(password)
    assert REQUIRED_REFERENCE.fullmatch(password).group(1) == "POSTGRES_PASSWORD"


def test_web_command_serves_the_app_wsgi_py_defines():
    command = SERVICES["web"]["command"]
    assert command[0] == "gunicorn"
    module, attr = command[-1].split(":")
    assert re.search(rf"^{attr} = ", (ROOT / f"{module}.py").read_text(), flags=re.M)


def test_migrate_command_names_an_existing_cli_command():
    command = SERVICES["migrate"]["command"]
    assert command[:3] == ["flask", "--app", "wsgi"]
    group, name = command[3:]
    cli = Flask("compose-check")
    register_cli(cli)
    assert name in cli.cli.commands[group].commands
    source = (ROOT / "server/cli.py").read_text()
    assert f'AppGroup("{group}"' in source
    assert f'"{name}"' in source


def test_worker_command_runs_the_sync_package():
    assert SERVICES["worker"]["command"] == ["python", "-m", "sync"]
    assert (ROOT / "sync/__main__.py").is_file()


def test_dockerfile_copies_only_paths_that_exist():
    copies = _instructions("COPY")
    assert copies
    from_stage = [line for line in DOCKERFILE.splitlines() if line.startswith("COPY --from=")]
    assert from_stage == ["COPY --from=webforms /build/dist/ server/webforms/dist/"]
    for args in copies:
        for source in args[:-1]:
            if source.startswith("/build/"):  # the bundle, built in the webforms stage
                continue
            assert (ROOT / source).exists(), source


def test_dockerfile_copies_every_runtime_package_and_config():
    copied = {Path(s).as_posix() for args in _instructions("COPY") for s in args[:-1]}
    needed = {"server", "forms", "sync", "xlsforms", "migrations", "wsgi.py", "gunicorn.conf.py"}
    assert needed <= copied


def test_dockerfile_installs_requirements_and_a_jre():
    stages = _instructions("FROM")  # the web forms bundle's stage, then the image itself
    assert stages == [["python:3.11-slim-bookworm", "AS", "webforms"], ["python:3.11-slim-bookworm"]]
    assert re.search(r"^RUN pip install [^\n&]*-r requirements\.txt", DOCKERFILE, flags=re.M)
    assert re.search(r"apt-get install [^\n&]*default-jre-headless", DOCKERFILE)


def test_dockerfile_runs_as_a_non_root_user_and_defaults_to_the_web_command():
    users = _instructions("USER")
    assert users
    assert users[-1][0] not in ("root", "0")
    assert "EXPOSE 8080" in DOCKERFILE
    cmd = re.search(r"^CMD (.+)$", DOCKERFILE, flags=re.M).group(1)
    assert json.loads(cmd) == SERVICES["web"]["command"]


def test_dockerignore_keeps_the_env_file_out_of_the_build():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored
