"""The ``polyalign`` console script: imports the command line inside a guard, so Ctrl-C while Python is still
importing (the first fraction of a second) ends quietly with exit 130 instead of a traceback."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from polyalign_lf.cli import main as cli_main

        return cli_main()
    except KeyboardInterrupt:  # the command's own Ctrl-C is handled inside; this is the import's
        print("polyalign: interrupted", file=sys.stderr)
        return 130
