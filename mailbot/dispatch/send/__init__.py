"""The senders: how a message that dispatch has composed and queued leaves mailbot.

Every backend sits behind the one `Sender` protocol (`base`), so the outbox never knows
which is configured: the Outbox Maildir, an SMTP relay (`smtp`) or Microsoft Graph (`graph`,
with `graph_upload` for large mail). A package of its own so the senders can be read, and
imported, apart from planning and composing; nothing is imported here, so the daemon's
start-up loads no backend.
"""
