"""Finding a plate by what people type (search) and by where they stand (reverse), and a file of
addresses at once (batch). The entries searched are kept by store/search_entries.py, spelled by
gis/spelling.py; `engine` finds candidates through the store's text index and ranks them in
Python, so both backends rank alike.
"""
