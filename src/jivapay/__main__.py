from jivapay.cli import main

raise SystemExit(main())
