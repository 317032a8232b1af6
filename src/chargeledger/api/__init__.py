"""The REST API (FastAPI): routers per resource, schemas, auth, error mapping."""
