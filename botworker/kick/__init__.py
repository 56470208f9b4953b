"""Kick ingestion up to typed events: Pusher listener, parsers, gift coalescing, dedupe, lease.

No database access in this package. How the pipeline combines the pieces (the reference is
``Ingest`` in ``tests/botworker/kick/test_pipeline.py``):

1. Bot process, per community: hold ``IngestionLease(redis, f"kick:{community_id}", holder)``;
   run ``PusherListener(url, channels_for(chatroom_id, channel_id), on_frame).run(stop)`` only
   while ``lease.is_held`` (stop the listener when ``lease.lost`` is set, unless ``lease.in_doubt``:
   Redis is unreachable, nothing can be handled, the listener keeps reading into memory; see
   ``outage.py`` and ``docs/decisions/0007``).
2. ``on_frame``: ``pusher_to_events(frame)``; on ``ParseError`` log the event name and skip.
   ``GiftEvidence`` goes to ``GiftCoalescer.feed()``; what it returns, and every other event,
   goes on. Call ``coalescer.flush()`` about once a second (fallback gifts).
3. Webhook (after the signature check): ``webhook_to_events(type, message_id_header, body)``.
   If the bot process handles it, feed a ``GiftEvent`` to the same coalescer too.
4. Every final event's ``dedupe_keys()`` are claimed through :class:`dedupe.Dedupe` (one script
   call per batch); an event with any key already present is skipped, a handled one keeps its
   keys for the dedupe window, a failed one releases them for redelivery
   (``pipeline.CommunityPipeline`` does all this). The shared semantic keys make Pusher/webhook
   duplicates (chat, subs, gifts, bans) collapse here even across processes. Then award in ONE
   DB transaction with a unique key on the event key (Redis dedupe is a 10-minute filter, not
   the ledger's guarantee).
"""
