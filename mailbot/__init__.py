"""mailbot: the MARAC referrals mailbox, processed securely and without losing anything."""

__version__ = "0.1.0"
