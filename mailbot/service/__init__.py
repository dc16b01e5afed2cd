"""The service around the pipeline: the daemon's life under systemd.

`daemon` runs the loop with its signals and watchdog; `systemd` speaks sd_notify; `reload`
re-reads the configuration on SIGHUP; `health` says whether mailbot is working (`mailbot
status`); `backends` checks the configured mailbox and sender (`mailbot check`); `instance`
is the lock that keeps a second daemon off the same state.
"""
