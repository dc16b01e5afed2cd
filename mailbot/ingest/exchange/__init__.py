"""The Exchange (EWS) mailbox through exchangelib: connection and retry policy, folders, the
sync of new mail, and streaming notifications."""
