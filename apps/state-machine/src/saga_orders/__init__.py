"""The order saga's business rules and its DynamoDB store, shared by every function.

Not a function itself: the API and the five step functions import it (they all ship the
same ``src/``).
"""
