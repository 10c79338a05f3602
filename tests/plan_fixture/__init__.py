"""A tiny shop for ``partyhost plan`` and ``verify`` tests: known cpu and waits."""
