"""What the booking API functions share: the booking model, its table and the notice handoff."""
