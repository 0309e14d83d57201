"""``python -m occseg``: the same as the ``occseg`` command (also under ``torchrun -m occseg``)."""

import sys

from occseg.cli import main

if __name__ == "__main__":  # not when a spawned worker process re-imports this module
    sys.exit(main())
