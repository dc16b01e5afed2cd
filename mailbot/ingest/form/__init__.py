"""Reading the official referral form however it was filled in: content controls, typed text,
tick marks, tables LibreOffice joined, preambles; the result is a `FormData`."""
