"""A unit's reports (validated against the document's template), evidence files and the Office's review."""
