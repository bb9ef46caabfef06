"""Per-workspace Trino isolation: each workspace's limits (defaults from Settings, a platform
admin's own per workspace) and, on PostgreSQL, the resource groups Trino's database manager reads."""
