"""Intake: mailbox backends, MIME parsing, decryption, hostile-input checks, form reading."""
