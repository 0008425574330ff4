"""The store: the data model, its migrations, the spatial questions asked of it on SQLite and PostGIS, and how
reads and writes reach the database (bulk writes, prepared reads, read replicas, change logs)."""
