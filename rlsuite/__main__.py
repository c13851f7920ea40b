from rlsuite.app.cli import main

raise SystemExit(main())
