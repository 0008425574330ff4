"""Printing plates: artwork with its QR code (SVG, PDF, PNG), text as outlines, and print batches."""
