from watchhouse.cli import main

raise SystemExit(main())
