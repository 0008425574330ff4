"""Reference data: the small tables every plate page shows (service points, police beats, culture notes),
each worker's snapshot of them, staff edits, and the links from each building to them, made at write time."""
