"""Raffle writes, one module a section; callers import from the module that does the work.

- ``ledger``: the open period's lock (``open_period_lock``, ``open_period_lock_or_raise``), the
  book's close by time, appending entries and their balances.
- ``tickets``: ticket sources: watched minutes, gifted subs, given or removed by hand, forgetting.
- ``shuffle``: Shuffle name claims and verification, polled wagers → tickets.
- ``periods``: opening a period with its commitment, its dates, settings, purging.
- ``rollover``: closing a period (the freeze), ending or restarting it, the monthly rollover.
- ``drawing``: the draw with the verified drand beacon, rerolls, the fallback rule.

Command and form text is parsed before it gets here (``raffle.parsing``); the committed rules are
read through ``raffle.rules``.

Locking: every ledger write runs in one transaction that first locks the community's open period
row (``SELECT ... FOR UPDATE``; SQLite serialises writers with IMMEDIATE transactions). Freezing
takes the same lock, so no award can commit into a period after its snapshot was taken. Awards
are idempotent on ``TicketEntry(period, source, source_key)``; balances are updated in the same
transaction. No HTTP call runs inside a transaction (the drand fetch happens before the draw's
transaction opens).

Fairness (docs/draw-proof.md, docs/fairness.md): the book closes by time (no entry effective after
``ends_at``, a trigger refuses it whatever the status), the drand round is always emitted at least
the committed margin after the book closed (a late or early close re-commits it and says why),
rerolls are capped and for fixed reasons, and the fallback round follows a fixed rule once the
committed round failed verifiably for the committed number of minutes.
"""
