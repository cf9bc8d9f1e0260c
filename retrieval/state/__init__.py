"""The state store: records, feed state, bot settings and feedback, on SQLite files or one PostgreSQL database.

Without DATABASE_URL each part keeps its own SQLite file in the data dir (records.sqlite3, feeds.sqlite3,
bot.sqlite3), as before; with `DATABASE_URL=postgresql://…` every part lives in that one database, so processes on
several hosts share it. The tables are the same on both (`tables.py`), and each part's migrations (`migrations.py`)
run when it is opened, so an old data dir upgrades in place.
"""

from retrieval.state.database import Database, open_database
from retrieval.state.tables import BOT, FEEDS, PARTS, RECORDS, Part

__all__ = ["BOT", "FEEDS", "PARTS", "RECORDS", "Database", "Part", "open_database"]
