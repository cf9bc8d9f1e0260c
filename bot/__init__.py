"""The Discord layer: thin handlers over `retrieval`, one cog per user-facing feature."""
