"""Database access: the embedded cluster, engines and migrations."""
