"""SDK example ``hello``: the smallest plugin with a page of its own."""
