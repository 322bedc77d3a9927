"""Administration of the directory: units, groups, people and issuers, with history, import and export."""
