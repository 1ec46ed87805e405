"""SDK example ``loyalty``: a loyalty card per party, and every way a plugin extends the party graph."""
