"""The exceptions-queue web page: administrators act on held referrals from a browser.

The MARAC team are office staff, not IT: a page they open in a browser, with everything a
held referral needs on one screen, is what makes the queue get worked. It is a thin front end
over `mailbot.actions` (the CLI uses the same functions), server-rendered and usable without
JavaScript, bound to 127.0.0.1 unless configured otherwise (`[web]`).
"""
