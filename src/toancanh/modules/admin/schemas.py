"""Administration reuses core's request schemas (toancanh.core.api.schemas)."""
