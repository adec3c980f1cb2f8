"""The trigger: order-service audit log lines -> domain events on the service's SNS topic."""
