"""One module per API module: its response models and its ``Resource`` with a typed method
per documented endpoint. Each method names its retry ``Policy`` (see ``retry.py``)."""
