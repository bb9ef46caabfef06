"""Workspaces (tenants), their members and roles, and the provisioning hook."""
