"""Change events (SNS) -> delete the cached copies of the reports that changed."""
