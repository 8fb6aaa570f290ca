"""Running drillbot in production: health and metrics endpoints, readiness, the doctor,
backups, structured logs and graceful shutdown.

Nothing here is imported by the core; the CLI wires these pieces around a built app.
"""
