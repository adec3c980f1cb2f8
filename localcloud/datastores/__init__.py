"""Real data stores the local cloud starts on loopback when an app needs one.

- :mod:`.postgres`: one PostgreSQL server process for the whole local cloud (Aurora
  PostgreSQL clusters are databases in it), started lazily by the first cluster and stopped,
  with nothing left running, when the local cloud stops.
"""
