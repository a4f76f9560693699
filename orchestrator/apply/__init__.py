"""The apply engine: executes operations (``executor``) and runs whole applies (``run``), under the
safety policy and its waves (``policy``), from a saved plan checked first (``saved_plan``), with
the signal watcher (``interrupts``) that lets writes in flight finish."""
