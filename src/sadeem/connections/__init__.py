"""Connections: typed, per-workspace configs for the systems Sadeem works with (object storage,
catalogs, engines, databases), with write-only secrets encrypted at rest and a real "test
connection" check per type."""
