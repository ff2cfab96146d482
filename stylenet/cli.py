"""``stylenet`` command line: ``stylenet <command> [options]``; ``stylenet <command> -h`` for help."""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module under stylenet.commands exposing add_parser(subparsers) that sets func=run(args)
COMMANDS: dict[str, str] = {
    "evaluate": "evaluate",
    "optimize": "optimize",
    "stylize": "stylize",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylenet", description="Feed-forward neural style transfer.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(f"stylenet.commands.{module}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
