"""``python -m reproduce``: the command line (see :mod:`reproduce.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
