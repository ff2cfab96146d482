"""Export a trained network: ``python export.py run/checkpoints/last.ckpt -o exported/starry``
(the same as ``stylenet export ...``)."""

from __future__ import annotations

import sys

from stylenet.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["export", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
