import sys

from marc_polars.cli import main

sys.exit(main())
