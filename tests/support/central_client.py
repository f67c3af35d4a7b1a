"""ODK Central's own Python client (pyodk) pointed at the test server, logged in as a web user."""

from __future__ import annotations

from pathlib import Path

from pyodk._utils.config import CentralConfig, Config
from pyodk.client import Client

PASSWORD = "correct horse battery"


def central_client(live_server: str, email: str, cache_dir: Path, project_id: int) -> Client:
    """A pyodk Client with its session cache in ``cache_dir`` (use it as a context manager)."""
    config = Config(central=CentralConfig(live_server, email, PASSWORD, project_id))
    return Client(config=config, cache_path=cache_dir / f"pyodk_cache_{email}.toml")
