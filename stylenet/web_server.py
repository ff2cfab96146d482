"""A static file server for the pages of ``stylenet export --web``, cross-origin isolated so WASM runs threaded.

Any static server serves a page; onnxruntime-web uses several threads only where the page is cross-origin
isolated, which takes the two headers sent here (``Cross-Origin-Opener-Policy`` and
``Cross-Origin-Embedder-Policy``). ``.mjs`` and ``.wasm`` files get their JavaScript and WebAssembly types.
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar


class IsolatedHandler(SimpleHTTPRequestHandler):
    """Serves one folder with the cross-origin isolation headers; logs nothing."""

    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def page_server(folder: str | os.PathLike, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server of ``folder`` bound to ``host:port`` (``port`` 0: a free one; read ``server.server_port``)."""
    return ThreadingHTTPServer((host, port), functools.partial(IsolatedHandler, directory=os.fspath(folder)))


def serve_in_background(folder: str | os.PathLike) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``folder`` on a free loopback port from a daemon thread; returns the server and the page's URL."""
    server = page_server(folder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/index.html"
