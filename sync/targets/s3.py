"""Put each version under a predictable key,
<prefix>/<project>/<formId>/<instanceId>/<versionInstanceId>.json (sync.targets.object_name),
with its attachments under <...>/<versionInstanceId>/<file name>; a resend overwrites rather
than duplicates. The JSON is written last, so its presence means the attachments are there."""

from __future__ import annotations

from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from server.registers import TargetConfig
from sync.payload import Payload
from sync.policy import Outcome
from sync.targets import OpenBlob, object_name, segment


class S3Target:
    def __init__(self, config: TargetConfig, endpoint_url: str = ""):
        parsed = urlparse(config.url)
        self.name = config.name
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def key(self, payload: Payload, suffix: str) -> str:
        return "/".join(p for p in (self.prefix, object_name(payload, suffix)) if p)

    def send(self, payload: Payload, open_blob: OpenBlob) -> Outcome:
        try:
            for ref in payload.attachments:
                if ref.sha256 is None:
                    continue
                with open_blob(ref.sha256) as stream:
                    self.client.upload_fileobj(
                        stream,
                        self.bucket,
                        self.key(payload, f"/{segment(ref.name)}"),
                        ExtraArgs={"ContentType": ref.content_type or "application/octet-stream"},
                    )
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(payload, ".json"),
                Body=payload.body,
                ContentType="application/json",
            )
        except EndpointConnectionError:
            return Outcome(None, error="connection")
        except ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return Outcome(status or 500, body_excerpt=str(e)[:500])
        except BotoCoreError as e:
            return Outcome(None, error=f"connection: {type(e).__name__}")
        return Outcome(200)
