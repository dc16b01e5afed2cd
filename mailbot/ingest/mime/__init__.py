"""An email's MIME layer, read without trusting it: bounds before parsing, headers, the
attachments (forwards, winmail.dat, Outlook .msg, opaque S/MIME) and oversize stand-ins."""
