"""The alerts subscriber: warning and critical billing events, buffered by SQS, into DynamoDB."""
