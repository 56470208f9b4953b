"""What accounts tells the apps above it. Apps below never import those apps: they listen here.

Receivers run where the signal is sent, inside the sender's transaction: what they write commits or
rolls back with the change that caused it.
"""

from __future__ import annotations

from django.dispatch import Signal

# A Discord user's link was removed (``link_remove``), sent after the row is deleted.
# Arguments: ``community_id``, ``discord_user_id``. Watchtime takes the roles it gave them off.
link_removed = Signal()
