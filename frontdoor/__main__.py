"""`python -m frontdoor`: the `frontdoor` command."""

import sys

from frontdoor.cli import main

sys.exit(main())
