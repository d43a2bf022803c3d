"""Operating the portal: health and readiness, Prometheus metrics, request ids in logs and tasks."""
