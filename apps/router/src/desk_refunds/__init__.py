"""The refunds task: records refund requests the router sends it."""
