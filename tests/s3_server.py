"""A local S3-compatible server for tests: moto's ``ThreadedMotoServer`` on 127.0.0.1.

Started once per test session by the ``s3`` fixture (tests/conftest.py) and stopped at its end;
no real credentials are used (the fixture sets dummy ones in the environment of the tests that
use it).  Other suites (Ray) reuse it: ``S3Server.start()`` gives the endpoint, ``client()`` a
boto3 client to make buckets and objects, ``storage_options`` what qwenlint's
``--storage-option`` takes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

#: Dummy credentials: moto accepts any, and nothing reaches a real account.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    endpoint: str
    _server: Any = None

    @classmethod
    def start(cls) -> "S3Server":
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return cls(f"http://{host}:{port}", server)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def storage_options(self) -> tuple[str, ...]:
        """``--storage-option`` values pointing qwenlint's s3:// at this server."""
        return (f"endpoint_url={self.endpoint}",)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def reset(self) -> None:
        """Delete every bucket (moto's reset endpoint)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset",
                                                      method="POST"), timeout=10).read()


def credentials_env() -> dict[str, str]:
    """The environment a test sets (monkeypatch) so that s3fs signs with dummy credentials and
    reads no real configuration."""
    return dict(CREDENTIALS, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
