"""``python -m symdl``."""

import sys

from symdl.cli import main

sys.exit(main())
