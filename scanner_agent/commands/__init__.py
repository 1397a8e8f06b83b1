"""Sub-commands of `scanner-agent`, one module each (see `scanner_agent.cli.COMMANDS`)."""
