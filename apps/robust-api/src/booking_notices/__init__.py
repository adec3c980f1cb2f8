"""The notices service: invoked asynchronously, it records one notice per booking event."""
