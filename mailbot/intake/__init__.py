"""Intake: one email in, one decision out, committed before the email leaves the inbox.

`pipeline` holds the pure stages in order (find the documents, decrypt, check the package,
read the form, check fields, threshold, repeats and duplicates, decide); `process` is the I/O
around them (the ledger, the case, the move); `held` reopens what waited for a password;
`prefetch` opens the next emails in worker processes; `reassess` decides a held case again
once a person has answered; `notices` puts what a decision implies in the outbox.
"""
