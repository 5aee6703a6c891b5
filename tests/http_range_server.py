"""A local HTTP server on 127.0.0.1 that answers Range requests and counts the bytes it sends.

For the tests of http(s) media read by byte range (tests/test_remote.py): ``served[path]`` is the
number of body bytes sent for that path, the measure that "never a whole video" is judged by.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeServer:
    """Serves the files of ``root``; start() / stop(); ``url(name)``; ``served`` and ``requests``."""

    def __init__(self, root: str):
        self.root = root
        self.served: Counter = Counter()
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _file(self):
                name = self.path.split("?", 1)[0].lstrip("/")
                full = os.path.realpath(os.path.join(server.root, name))
                if not full.startswith(os.path.realpath(server.root) + os.sep) or not os.path.isfile(full):
                    return None
                return name, full

            def _not_found(self) -> None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self) -> None:
                server.requests.append(("HEAD", self.path, None))
                found = self._file()
                if found is None:
                    return self._not_found()
                self.send_response(200)
                self.send_header("Content-Length", str(os.path.getsize(found[1])))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                server.requests.append(("GET", self.path, rng))
                found = self._file()
                if found is None:
                    return self._not_found()
                name, full = found
                size = os.path.getsize(full)
                start, end = 0, size - 1
                m = _RANGE.match(rng or "")
                if m and (m.group(1) or m.group(2)):
                    if m.group(1):
                        start = int(m.group(1))
                        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                    else:  # a suffix: the last N bytes
                        start = max(size - int(m.group(2)), 0)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                else:
                    self.send_response(200)
                length = max(end - start + 1, 0)
                self.send_header("Content-Length", str(length))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                with open(full, "rb") as f:
                    f.seek(start)
                    data = f.read(length)
                server.served[name] += len(data)  # before the write: the client may read on at once
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def start(self) -> "RangeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
