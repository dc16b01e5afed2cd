"""Dispatch: outgoing messages, routes, senders (replies, alerts, agendas, minutes)."""
