"""`python -m hbs_shared.backup`: see hbs_shared.backup.cli."""

from hbs_shared.backup.cli import main

raise SystemExit(main())
