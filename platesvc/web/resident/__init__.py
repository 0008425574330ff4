"""What residents open: the plate page a QR code leads to, the map, and the report form."""
