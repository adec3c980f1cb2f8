"""Account write service: PUT/GET/DELETE accounts in DynamoDB, each write a new version."""
