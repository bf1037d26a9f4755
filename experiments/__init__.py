"""The experiment matrix: sweep files → trials → worker processes → DuckDB, the live view and
the ``mmsim`` command line."""
