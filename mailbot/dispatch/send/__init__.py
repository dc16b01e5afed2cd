"""The senders: how a message that dispatch has composed and queued leaves mailbot.

Every backend sits behind the one `Sender` protocol (`base`, with the errors a caller must
tell apart and the checks every backend makes), so the outbox never knows which is
configured: the Outbox Maildir (`maildir`), an SMTP relay (`smtp`) or Microsoft Graph
(`graph`, with `graph_upload` for large mail); `open` picks one from the configuration.
A package of its own so the senders can be read, and imported, apart from planning and
composing: each backend builds on `base` alone and only `open` chooses between them, so no
two of these modules import each other. Nothing is imported here, so loading `base` (the
daemon does, at start-up) loads no backend: smtplib and httpx come in only when opened.
"""
