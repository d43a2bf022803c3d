"""The API app's task names (sent by the beat)."""

PURGE_IDEMPOTENCY = "api.purge_idempotency"
