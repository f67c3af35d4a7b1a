"""The embedded default: one JSON file per submission version,
<dir>/<project>/<formId>/<instanceId>/<versionInstanceId>.json (sync.targets.object_name),
written to a temporary file and renamed, so a resend overwrites instead of duplicating."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from server.files import private_folder
from server.registers import TargetConfig
from sync.payload import Payload
from sync.policy import Outcome
from sync.targets import OpenBlob, object_name


class DirectoryTarget:
    def __init__(self, config: TargetConfig):
        self.name = config.name
        self.root = Path(config.url.removeprefix("dir:"))

    def send(self, payload: Payload, open_blob: OpenBlob) -> Outcome:
        path = self.root / object_name(payload)
        folder = path.parent
        try:
            if not folder.is_dir():  # records of clients: folders 0700, mkstemp's files 0600
                private_folder(folder)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
            with os.fdopen(fd, "wb") as f:
                f.write(payload.body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            return Outcome(None, error=f"connection: {e.strerror or e}")
        return Outcome(201)
