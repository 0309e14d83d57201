"""``python -m occseg.train clicks --config FILE`` = ``occseg train clicks --config FILE``.

The form torchrun needs for data-parallel training::

    torchrun --standalone --nproc_per_node 2 -m occseg.train clicks --config FILE
"""

from __future__ import annotations

import sys

from occseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
