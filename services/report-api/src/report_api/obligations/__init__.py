"""What each addressee unit owes for a document: states, access, the unit's list, deadlines and extensions."""
