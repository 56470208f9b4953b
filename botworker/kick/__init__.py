"""Kick ingestion in the bot process: lease, Pusher listener, webhook reader, pipeline, Kick chat out.

The parsers and event types are in ``kickbot.integrations.kick`` (the web process reads webhooks
with them too). How the pieces are wired, and the walk of one chat command from the frame to the
reply, is ``botworker/README.md``. In short, per community, while this process holds the
``IngestionLease`` (``lease.py``): ``PusherListener`` (``pusher.py``) and ``WebhookReader``
(``webhook_queue.py``) feed ``CommunityPipeline`` (``pipeline.py``), which claims every event's
``dedupe_keys()`` through ``Dedupe`` (``dedupe.py``; Pusher and webhook copies of one event
collapse, across processes), coalesces gift frames (``gifts.py``), routes commands and runs the
feature apps' event handlers; ``KickChatSender`` (``sender.py``) posts the community's queued Kick
chat. Redis dedupe is a filter: every service that awards something is idempotent on the event's
key in the database as well. Redis unreachable: ``outage.py`` and decision 0007.
"""
