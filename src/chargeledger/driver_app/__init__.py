"""The driver web app (``/app``, issue 16): an installable PWA, static files only. Its pages
run in the driver's browser and use the same public REST API as every client (OpenAPI tag
"driver app"); the server only serves the shell, under a strict Content-Security-Policy."""
