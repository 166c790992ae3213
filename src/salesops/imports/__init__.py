"""Import and export: CSV/Excel in, with column mapping, validation of every row and atomic, idempotent
loads; any list out to CSV and Excel."""
