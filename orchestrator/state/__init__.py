"""The state database: the journal and run history, applied values, the drift record and
backoff, and the run lock. Everything a run remembers between runs lives here."""
