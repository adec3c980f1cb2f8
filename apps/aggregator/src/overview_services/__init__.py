"""What the aggregator's three internal services share: the call contract and fault drills."""
