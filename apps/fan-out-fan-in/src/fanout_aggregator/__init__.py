"""The aggregator: gathers every task's partial result into the job's final result."""
