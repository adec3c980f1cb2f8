"""The Streamer's optional stream consumer: per-type event counts kept in DynamoDB."""
