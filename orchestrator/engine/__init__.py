"""The apply engine: executes operations (``executor``) and runs whole applies (``apply``)."""
