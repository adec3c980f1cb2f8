"""POST /bookings/{booking_id}/cancel: a conditional state change, then a notice handed off."""
