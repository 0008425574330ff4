"""What map clients read: feature collections (OGC API - Features), vector tiles and nearby services."""
