"""Items API: a REST resource backed by DynamoDB (the Simple Web Service pattern)."""
