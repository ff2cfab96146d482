"""``stylenet train``: train a network from the Hydra configs in ``conf/``.

    stylenet train style=starry loss=crosslayer
    stylenet train system=metanet model=metanet8 trainer=cpu
    stylenet train -m loss=gram,crosslayer style=starry,candy        # multirun
    stylenet train --help                                            # config groups and Hydra's options

Every argument is Hydra's (the same as ``python train.py ...``).
"""

from __future__ import annotations

import argparse
import sys

HELP = "train a network: Hydra overrides, e.g. style=starry loss=crosslayer (--help lists the config groups)"
PASSTHROUGH = True  # every argument, --help included, goes to Hydra


def run(args: argparse.Namespace) -> int:
    from stylenet.training import main

    sys.argv = ["stylenet train", *args.arguments]
    main()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="Hydra overrides and options")
    parser.set_defaults(func=run)
