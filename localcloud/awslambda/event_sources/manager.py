"""The lifecycle of the pollers: one per event source mapping, from creation to deletion.

moto's Lambda backend tells the running manager (:func:`current_manager`) about every
mapping created, updated or deleted, through the Lambda API or a CloudFormation stack alike
(see :mod:`.moto_patch`). The manager gives each mapping its poller (:mod:`.sqs`,
:mod:`.streams`), lets the poller follow the mapping's changes, and on shutdown ends every
poller thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from localcloud.awslambda.event_sources.poller import MappingPoller, PollerSettings, set_state

log = logging.getLogger("localcloud.awslambda.event_sources")

# moto's state is global to the process: the most recently installed manager that still runs
# serves it (as with the Lambda runtime).
_managers: list[EventSourceManager] = []
_managers_lock = threading.Lock()


def current_manager() -> EventSourceManager | None:
    with _managers_lock:
        return _managers[-1] if _managers else None


def every_mapping() -> list[Any]:
    """Every event source mapping moto holds, in every account and region."""
    from moto.awslambda.models import lambda_backends

    mappings: list[Any] = []
    for account_id in list(lambda_backends.keys()):
        regions = lambda_backends[account_id]
        for region in list(regions.keys()):
            try:
                mappings += list(regions[region]._event_source_mappings.values())
            except Exception:  # a backend mid-reset
                log.debug("could not list mappings of %s/%s", account_id, region, exc_info=True)
    return mappings


def make_poller(esm: Any, settings: PollerSettings) -> MappingPoller:
    """The poller for a mapping's kind of source."""
    kind = esm._get_service_source_from_arn()
    if kind in ("sqs", "sqs-fifo"):
        from localcloud.awslambda.event_sources.sqs import SqsPoller

        return SqsPoller(esm, settings)
    from localcloud.awslambda.event_sources.streams import StreamPoller, source_for

    return StreamPoller(esm, settings, source_for(esm))


class EventSourceManager:
    """Owns the pollers of every mapping while the local cloud runs."""

    def __init__(self, settings: PollerSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pollers: dict[str, MappingPoller] = {}
        # Pollers of deleted mappings whose threads may still be finishing a batch.
        self._retired: list[MappingPoller] = []
        self._stopped = False

    def start(self) -> None:
        """Become the process's manager and take over the mappings that already exist."""
        from localcloud.awslambda.event_sources.moto_patch import detach

        with _managers_lock:
            _managers.append(self)
        for esm in every_mapping():
            detach(esm)
            self.mapping_created(esm)

    def poller(self, uuid: str) -> MappingPoller | None:
        """The poller of the mapping ``uuid`` (for diagnostics and tests)."""
        with self._lock:
            return self._pollers.get(uuid)

    # -- what moto tells us -----------------------------------------------------------------
    def mapping_created(self, esm: Any) -> None:
        with self._lock:
            if self._stopped or esm.uuid in self._pollers:
                return
            set_state(esm, "Creating")
            poller = make_poller(esm, self.settings)
            self._pollers[esm.uuid] = poller
        poller.apply()

    def mapping_updated(self, esm: Any) -> None:
        with self._lock:
            poller = self._pollers.get(esm.uuid)
        if poller is None:
            self.mapping_created(esm)
            return
        set_state(esm, "Updating")
        poller.apply()

    def mapping_deleted(self, esm: Any) -> None:
        set_state(esm, "Deleting")
        with self._lock:
            poller = self._pollers.pop(esm.uuid, None)
            if poller is None:
                return
            self._retired = [p for p in self._retired if not p.join(time.monotonic())]
            self._retired.append(poller)
        # The batch in flight finishes on its own; the API call does not wait for it.
        poller.close()

    # -- shutdown ---------------------------------------------------------------------------
    def stop(self, timeout: float = 15.0) -> None:
        """End every poller thread (a batch in flight gets until ``timeout`` to finish)."""
        with _managers_lock:
            if self in _managers:
                _managers.remove(self)
        with self._lock:
            self._stopped = True
            pollers = list(self._pollers.values()) + self._retired
            self._pollers.clear()
            self._retired = []
        for poller in pollers:
            poller.close()
        deadline = time.monotonic() + timeout
        for poller in pollers:
            if not poller.join(deadline):
                log.warning("event source poller %s did not stop in time", poller.uuid)
