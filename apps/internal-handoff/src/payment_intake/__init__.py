"""The payment intake: validates a payment and hands it off to the recorder asynchronously."""
