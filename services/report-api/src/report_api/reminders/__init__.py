"""Reminders (đôn đốc) and the timers of the escalation ladder."""
