"""The operator back office (``/office``, issue 16): server-rendered pages over the services
the REST API uses. An edge like ``api/``: thin, it authenticates, calls a service and renders."""
