"""The senders: how a message that dispatch has composed and queued leaves mailbot.

Every backend sits behind the one `Sender` protocol (`base`, with the errors a caller must
tell apart and the checks every backend makes), so the outbox never knows which is
configured: the Outbox Maildir (`maildir`), an SMTP relay (`smtp`), Microsoft Graph
(`graph`, with `graph_upload` for large mail) or Exchange EWS (`ews`); `open` picks one
from the configuration. A package of its own so the senders can be read, and imported,
apart from planning and composing: each backend builds on `base` alone and only `open`
chooses between them, so no two of these modules import each other.

The Graph and EWS senders send through the mailbox's own login, so they import its
connection code from `mailbot.ingest` (a stage below); ingest imports nothing from here.
Nothing is imported in this file, so loading `base` (the daemon does, at start-up) loads no
backend: smtplib, httpx and exchangelib come in only when their sender is opened.
"""
