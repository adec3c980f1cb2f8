"""The order feed contract: the domain event on the topic, and how a subscriber consumes it."""
