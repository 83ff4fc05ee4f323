"""Signals the accounts app sends for other apps to follow.

accounts sits below mailing (mailing's models point at User), so it cannot
call mailing; mailing connects to these instead (moderation log, cached
figures).
"""

from django.dispatch import Signal

# Sent inside the blocking or unblocking transaction, after the user is saved,
# with `actor`, `user`, `action` ("block" or "unblock") and `reason`.
user_moderated = Signal()
