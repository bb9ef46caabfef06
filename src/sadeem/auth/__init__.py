"""Users, sessions, personal access tokens, roles and the permission dependencies every route declares."""
