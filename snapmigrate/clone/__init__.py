"""Clones: throwaway copies of a cluster for testing (``snapmigrate clone``).

Created in minutes (an Aurora copy-on-write clone by default), masked with
proof when asked, expiring on their own: the truth is in the clone's tags
(``snapmigrate:kind=clone``, its source, its lease, its owner), read afresh by
every command -- no daemon. The layout:

- the pure decisions: :mod:`.options` (flags), :mod:`.lease` (durations,
  expiry, protection, what ``gc`` sweeps), :mod:`.rules` (masking rules and
  their checks), :mod:`.spec` (the preflight and the clone's spec);
- AWS, read-only: :mod:`.discover`; what is shown: :mod:`.view`;
- the steps (:mod:`.workflow`): :mod:`.restore` (the cluster, its instances),
  :mod:`.masking` (mask, proof), run by :mod:`.runner` (create) and
  :mod:`.reset`; :mod:`.destroy` deletes; :mod:`.manage` lists and leases.
"""
