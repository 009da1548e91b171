"""`python -m litecnn.publish`: the same as the `litecnn-publish` command."""

import sys

from .cli import main

sys.exit(main())
