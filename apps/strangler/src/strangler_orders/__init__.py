"""New orders service: the first routes migrated off the legacy system."""
