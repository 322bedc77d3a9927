"""Carry-over: a unit's progress moves to the replacement (or đính chính) of a document."""
