"""The crash harness test, and hostile input under time and memory bounds."""
