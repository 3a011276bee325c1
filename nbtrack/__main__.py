"""``python -m nbtrack``: the ``nbtrack`` command, also where the console script is not on PATH
(``!python -m nbtrack runs`` in a notebook whose kernel's environment is not activated)."""

import sys

from nbtrack.cli import main

sys.exit(main())
