"""HTTP plumbing shared by every domain: problem+json errors, request context, pagination,
middleware and the OpenAPI post-processing that declares every status a route returns."""
