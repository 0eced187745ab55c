"""Load check of the web gallery: the same as `deepgallery bench gallery [--quick] [--json PATH]`.

See deepgallery/web/README.md; `python -m deepgallery.web.bench --readme RUN.json...` refreshes its table.
"""

import sys

from deepgallery.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "gallery", *sys.argv[1:]]))
