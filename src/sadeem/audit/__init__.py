"""The append-only, hash-chained audit trail: recording, querying and verification."""
