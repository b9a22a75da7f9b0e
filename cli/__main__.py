"""`python -m cli`: the same as the `crowdledger` command."""

import sys

from cli.main import main

sys.exit(main())
