"""The `codexweb` command-line client of the REST API (login, ask/code, list, show, diff, ...)."""
