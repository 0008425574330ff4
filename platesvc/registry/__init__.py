"""The plate registry: plate IDs, the standard address, the life of plates and buildings, and the audit trail."""
