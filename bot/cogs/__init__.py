"""One cog per user-facing feature, each loaded as an extension by `NewsdeskBot.setup_hook`."""
