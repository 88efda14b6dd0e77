from vidsr.cli import main

raise SystemExit(main())
