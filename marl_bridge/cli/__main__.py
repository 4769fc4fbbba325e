"""`python -m marl_bridge.cli` (what the lib/marl_bridge shims and spawned actors run)."""

import sys

from marl_bridge.cli.main import main

sys.exit(main())
