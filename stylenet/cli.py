"""``stylenet`` command line: ``stylenet <command> [options]``; ``stylenet <command> -h`` for help."""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module under stylenet.commands: its docstring is the description, HELP the one-line help,
# add_arguments(parser) adds the options and sets func=run(args)
COMMANDS: dict[str, str] = {
    "evaluate": "evaluate",
    "optimize": "optimize",
    "stylize": "stylize",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylenet", description="Feed-forward neural style transfer.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"stylenet.commands.{module_name}")
        command = subparsers.add_parser(
            name, help=module.HELP, description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
