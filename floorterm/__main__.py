from floorterm.cli import main

raise SystemExit(main())
