"""``python -m occseg``: the same as the ``occseg`` command."""

import sys

from occseg.cli import main

sys.exit(main())
