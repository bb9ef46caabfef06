"""Liveness, readiness and the Prometheus endpoint."""
