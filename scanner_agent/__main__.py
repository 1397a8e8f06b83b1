"""`python -m scanner_agent ...`: the `scanner-agent` command where its console script is not
installed (an embeddable Windows Python, a task that starts the interpreter itself). The same
commands and exit statuses as `scanner_agent.cli.main`."""

from __future__ import annotations

import sys

from scanner_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
