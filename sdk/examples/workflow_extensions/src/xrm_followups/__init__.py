"""SDK example ``followups``: extending workflows (an action, a trigger) and running a periodic job."""
