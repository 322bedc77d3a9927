"""Domain-free building blocks shared by directive-api and report-api."""
