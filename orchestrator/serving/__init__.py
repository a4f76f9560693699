"""What every HTTP server of ours runs with: uvicorn's limits, and the request-head deadline
and connection budget uvicorn lacks (`limits`). The emulator, the status page and the
reconcile loop's metrics port share it; it imports nothing else of the orchestrator."""
