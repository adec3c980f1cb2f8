"""The ticket router: one asynchronous entry that sends each ticket to exactly one task."""
