"""Validation: pure checks over a read referral that return reason codes."""
