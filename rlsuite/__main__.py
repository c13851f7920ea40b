from rlsuite.cli import main

raise SystemExit(main())
