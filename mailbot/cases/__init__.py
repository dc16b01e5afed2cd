"""Cases: referrals, the cases they belong to, listings and hearings, and earlier MARAC history.

`casebook` keeps the referrals (one per email) and the people known to MARAC; `lifecycle`
says what a case, a listing and a hearing are in the database, so that repeats and desktop
reviews count only meetings that have taken place.
"""
