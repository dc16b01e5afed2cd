"""Meetings: the calendar, listing at a meeting, and the papers and notices around each one.

`calendar` says when each area meets and when its agenda is due; `listing` puts a case at
the first meeting with room; `agenda`, `agenda_doc` and `agendas` write and send the agenda
and its addenda; `minutes` and `minutes_jobs` check and send the minutes; `transfers` and
`flags` follow a case after its meeting; `jobs` runs what is due on each pass.
"""
