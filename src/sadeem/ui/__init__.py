"""The admin console. Until the React console lands this is a small placeholder page that logs in
and lists your workspaces, using the same API and CSRF protocol the console will use."""
