"""The Office's follow-up in bulk: reminders to many units, review decisions on many reports, the unit list."""
