"""One attachment as a document: what it really is (`sniff`), decrypting it with bounded work,
and the package checks (zip bombs, macros, content that fetches on opening) before reading."""
