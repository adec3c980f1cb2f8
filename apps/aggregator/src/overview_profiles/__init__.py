"""Profile service: the customer's name and contact details (the overview's essential part)."""
