"""Shared test helpers: run the CLI in-process, write files, check values."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from qwenlint.cli import main

# Hypothesis explores new examples on every local run (its default: a random seed, the examples
# that failed before replayed from .hypothesis/).  CI (.ci/run sets QWENLINT_HYPOTHESIS=ci) runs a
# fixed set instead, so that a landing is judged on the same inputs every time; the differential
# tests still generate those inputs, they do not hard-code them.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("QWENLINT_HYPOTHESIS") == "ci":
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("QWENLINT_SHARED", REPO.parent / "shared"))


class CliResult:
    def __init__(self, result):
        self.exit_code = result.exit_code
        self.output = result.output
        self.stderr = result.stderr if hasattr(result, "stderr") else ""
        self.exception = result.exception

    @property
    def doc(self) -> dict:
        return json.loads(self.output)

    def rules(self) -> list[tuple[str, str]]:
        return [(d["rule"], d["pointer"]) for d in self.doc["diagnostics"]]


@pytest.fixture
def cli():
    runner = CliRunner()

    def run(*args: str) -> CliResult:
        return CliResult(runner.invoke(main, [str(a) for a in args], catch_exceptions=True))

    return run


@pytest.fixture
def write(tmp_path):
    def _write(name: str, value=None, text: str | None = None, raw: bytes | None = None) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            p.write_bytes(raw)
        elif text is not None:
            p.write_text(text, encoding="utf-8")
        else:
            p.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")
        return p

    return _write


# --- servers on 127.0.0.1 for the URL tests (tests/test_remote.py; reusable by other suites) ------

@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 for the test session (tests/s3_server.py), stopped at its end."""
    pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    from s3_server import S3Server

    server = S3Server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """The session's S3 server, with dummy credentials (never real ones) and no AWS configuration
    files in this test's environment."""
    from s3_server import credentials_env

    for k, v in credentials_env().items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(k, raising=False)
    return s3_server


@pytest.fixture
def http_files(tmp_path):
    """A Range-capable HTTP server on 127.0.0.1 serving ``tmp_path / "www"`` (tests/http_range_server.py)."""
    from http_range_server import RangeServer

    root = tmp_path / "www"
    root.mkdir()
    server = RangeServer(str(root)).start()
    try:
        yield server
    finally:
        server.stop()
