"""The one direction of imports (style.md 4.3): forms <- server <- sync; services never import
blueprints or flask; server/auth (pure rules) imports no service and no HTTP edge; models import
only db and each other. Walks every module's AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ("server.openrosa", "server.api", "server.web", "server.cli")
#: The HTTP edge the blueprints share (working out the caller of a request): may import
#: services, and nothing below the blueprints imports it.
EDGE = ("server.http",)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def ours(name: str) -> bool:
    return name.split(".")[0] in {"forms", "server", "sync", "wsgi"}


def test_there_is_code_to_check():
    assert len(modules("server")) > 20
    assert len(modules("forms")) >= 5


@pytest.mark.parametrize("path", modules("forms"), ids=lambda p: str(p.relative_to(ROOT)))
def test_forms_imports_nothing_of_ours_but_itself(path):
    bad = {m for m in imports_of(path) if ours(m) and not m.startswith("forms")}
    assert bad == set()


@pytest.mark.parametrize("path", modules("server"), ids=lambda p: str(p.relative_to(ROOT)))
def test_server_never_imports_sync_or_wsgi(path):
    bad = {m for m in imports_of(path) if m.split(".")[0] in {"sync", "wsgi"}}
    assert bad == set()


@pytest.mark.parametrize("path", modules("server/services"), ids=lambda p: p.name)
def test_services_never_import_blueprints_or_flask_request(path):
    names = imports_of(path)
    assert not {m for m in names if m.startswith(BLUEPRINTS + EDGE)}
    assert not {m for m in names if m == "flask" or m.startswith("flask.")}


@pytest.mark.parametrize("path", modules("server/auth"), ids=lambda p: p.name)
def test_auth_is_pure_rules_below_the_services(path):
    names = imports_of(path)
    assert not {m for m in names if m.startswith(("server.services", "server.models"))}
    assert not {m for m in names if m.startswith(BLUEPRINTS + EDGE)}
    assert not {m for m in names if m == "flask" or m.startswith("flask.")}


@pytest.mark.parametrize(
    "path",
    [p for pkg in ("server/services", "server/models", "server/auth") for p in modules(pkg)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_nothing_below_the_blueprints_imports_the_http_edge(path):
    assert not {m for m in imports_of(path) if m.startswith(EDGE)}


@pytest.mark.parametrize("path", modules("server/models"), ids=lambda p: p.name)
def test_models_import_only_db_and_models(path):
    bad = {
        m for m in imports_of(path) if ours(m) and not m.startswith(("server.db", "server.models"))
    }
    assert bad == set()


def test_only_forms_xml_builds_an_xml_parser():
    offenders = [
        str(p.relative_to(ROOT))
        for pkg in ("forms", "server", "sync")
        for p in modules(pkg)
        if "XMLParser(" in p.read_text()
    ]
    assert offenders == ["forms/xml.py"]


def test_only_settings_reads_the_environment():
    offenders = [
        str(p.relative_to(ROOT))
        for pkg in ("forms", "server", "sync")
        for p in modules(pkg)
        if "os.environ" in p.read_text() or "getenv(" in p.read_text()
    ]
    assert offenders == ["server/settings.py"]


def test_every_views_module_is_loaded_by_the_app_factory():
    from server.app import VIEW_MODULES

    views = {
        f"server.{p.parent.name}.{p.stem}"
        for pkg in ("server/openrosa", "server/api", "server/web")
        for p in modules(pkg)
        if p.stem != "__init__" and "@bp." in p.read_text()
    }
    assert views == set(VIEW_MODULES)
