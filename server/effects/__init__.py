"""The effects of a write, applied by the outbox worker (``server/outbox.py``), one module
per kind of write: ``tweets`` and ``edges`` (likes, follows), which use ``timelines`` and
``counts``. Each is safe to run twice."""
