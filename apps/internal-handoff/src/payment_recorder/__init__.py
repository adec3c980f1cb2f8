"""The payment recorder: the worker the intake hands payments off to (``InvocationType=Event``)."""
