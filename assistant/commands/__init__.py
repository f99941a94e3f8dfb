"""Feature subcommands of the `assistant` CLI (see `assistant.cli.COMMANDS`)."""
