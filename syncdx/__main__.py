"""`python -m syncdx`: the command line, as the `syncdx` script runs it."""

from syncdx.cli import main

raise SystemExit(main())
