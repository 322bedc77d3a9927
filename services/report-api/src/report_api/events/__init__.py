"""directive-api's events in (webhook inbox, pull feed) and report-api's event feed out."""
