"""Core's HTTP API: units, agencies, assets, series, files, auth, audit, events (SSE), health."""
