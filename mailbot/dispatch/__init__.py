"""Dispatch: outgoing messages, routes, the outbox, the senders in `send/` (replies, alerts,
agendas, minutes)."""
