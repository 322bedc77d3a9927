"""report-api: compliance responses of the addressee units, and their follow-up."""
