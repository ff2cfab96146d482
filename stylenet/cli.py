"""``stylenet`` command line: ``stylenet <command> [options]``; ``stylenet <command> -h`` for help."""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module under stylenet.commands: its docstring is the description, HELP the one-line help,
# add_arguments(parser) adds the options and sets func=run(args); PASSTHROUGH leaves --help to the command
COMMANDS: dict[str, str] = {
    "train": "train",
    "export": "export",
    "stylize": "stylize",
    "optimize": "optimize",
    "evaluate": "evaluate",
    "upscale": "upscale",
    "evaluate-sr": "evaluate_sr",
    "serve": "serve",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylenet", description="Feed-forward neural style transfer.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"stylenet.commands.{module_name}")
        command = subparsers.add_parser(
            name,
            help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            add_help=not getattr(module, "PASSTHROUGH", False),
        )
        module.add_arguments(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(f"stylenet.commands.{COMMANDS[argv[0]]}")
        if getattr(module, "PASSTHROUGH", False):  # its arguments are not argparse's, --help included
            return int(module.run(argparse.Namespace(arguments=argv[1:])) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
