from coroproj.cli import main

raise SystemExit(main())
