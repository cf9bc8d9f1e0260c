"""The `newsdesk` command line: one entry point for ingest, search, answers, the bot and measurements."""
