"""directive-api: the life of an official document, from draft to archive."""
