"""Intake: the files staff hand over (divisions, roads, buildings, services, beats, culture) and the demo city."""
