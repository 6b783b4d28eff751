"""AISBackend's client API, served beside v1 so its phones work unchanged (deprecated)."""
