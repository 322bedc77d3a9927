"""Obligations of addressee units: their reports, review, reminders and the compliance views."""
