"""The oversight pages, one module per feature (their shared helpers in ``common``)."""
