"""``python -m numbagrad``: the command line (see ``numbagrad.cli``)."""

from numbagrad.cli import main

raise SystemExit(main())
