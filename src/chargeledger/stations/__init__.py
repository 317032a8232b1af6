"""The OCPP 1.6J and 2.0.1 websocket edge: stations connect here; handlers delegate to the
services (DESIGN §3). Built on the ``ocpp`` library."""
