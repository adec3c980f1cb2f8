"""GET /bookings/{booking_id} and GET /bookings?guest_email=...: the read-only routes."""
