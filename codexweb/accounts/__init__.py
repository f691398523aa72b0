"""People and teams: sign-in (GitHub, GitHub Enterprise, local accounts), teams and roles."""
