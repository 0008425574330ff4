"""A scanned plate: what its page shows, and how often plates are scanned."""
