"""Request ids, access logs, structured (JSON) logging and Prometheus metrics."""
