"""``python -m sklocalize``: the same as the ``sklocalize`` command."""

import sys

from .cli import main

sys.exit(main())
