"""`python -m deepgallery` (and `torchrun ... -m deepgallery train ID ...`) is the `deepgallery` command."""

import sys

from .cli import main

sys.exit(main())
