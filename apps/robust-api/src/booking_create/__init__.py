"""POST /bookings: quote the stay with the rates service, store the booking, hand off its notice."""
