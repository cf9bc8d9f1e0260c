"""Ingest: articles cut into passages (chunker), written to the store and the records as one change (indexer), and
the record manager whose journal makes a killed ingest recoverable (records)."""
