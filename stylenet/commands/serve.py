"""``stylenet serve``: serve a page written by ``stylenet export --web`` on this machine.

    stylenet export run/checkpoints/last.ckpt --web page/starry --web-runtime node_modules/onnxruntime-web
    stylenet serve page/starry                 # http://127.0.0.1:8000/  (Ctrl-C stops it)

Any static file server serves the page. This one also sends the cross-origin isolation headers, without
which onnxruntime-web runs WASM on one thread (:mod:`stylenet.web_server`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stylenet.web_server import page_server

HELP = "serve an exported web page locally, cross-origin isolated (threaded WASM)"


def run(args: argparse.Namespace) -> int:
    if not (args.folder / "index.html").is_file() or not (args.folder / "model.json").is_file():
        print(f"stylenet serve: error: {args.folder} is not a page written by stylenet export --web", file=sys.stderr)
        return 1
    try:
        server = page_server(args.folder, args.host, args.port)
    except OSError as error:
        print(f"stylenet serve: error: cannot listen on {args.host}:{args.port} ({error.strerror})", file=sys.stderr)
        return 1
    print(f"serving {args.folder} at http://{args.host}:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="folder written by stylenet export --web")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    parser.set_defaults(func=run)
