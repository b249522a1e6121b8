"""``python -m fusionlabel``: the command line (see fusionlabel.cli)."""

from fusionlabel.cli import main

raise SystemExit(main())
