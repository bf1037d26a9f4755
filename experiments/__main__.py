"""``python -m experiments`` is the ``mmsim`` command."""

import sys

from experiments.cli import main

sys.exit(main())
