"""SQS queues as AWS runs them, where moto 5.2.5 differs.

moto answers every SQS API; what is fixed here, one module per concern:

- :mod:`localcloud.sqs.fifo_deduplication`: a deduplication id is remembered for 5 minutes
  from its first send, even after the message was received and deleted; the scope is the
  message group with ``DeduplicationScope=messageGroup``; a duplicate send succeeds with the
  original message's ``MessageId`` and ``SequenceNumber`` and is never delivered; every FIFO
  message gets an increasing ``SequenceNumber`` (moto gives none with content-based
  deduplication);
- :mod:`localcloud.sqs.fifo_redelivery`: a message whose visibility timeout expired is no
  longer in flight, so a message group whose batch timed out comes back first message first
  (moto hands out the group's last message first, alone);
- :mod:`localcloud.sqs.retention_check`: handing out a message costs the same whatever the
  queue's depth (moto computes every queue attribute per message received);
- :mod:`localcloud.sqs.message_lock`: deletes, receives and purges of a queue hold its lock,
  so concurrent requests neither lose a message just sent nor bring back one just deleted.

moto internals change between releases: ``tests/localcloud/test_sqs_*.py`` is what
tells an upgrade broke something here.
"""

from __future__ import annotations

from localcloud.settings import CloudSettings


def install(settings: CloudSettings) -> None:
    """Patch moto's SQS models in this process (idempotent); nothing to shut down."""
    from localcloud.sqs import fifo_deduplication, fifo_redelivery, message_lock, retention_check

    del settings  # nothing to tune yet; the signature is the one every install shares
    fifo_deduplication.install()
    fifo_redelivery.install()
    retention_check.install()
    message_lock.install()
