"""The IMAP mailbox (IMAPClient): sign-in (password or XOAUTH2), the session, moves that
survive a crash, and `mailbot check` for it."""
