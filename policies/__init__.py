"""Policy engine and default policy packs (redaction, safe harbor, disclosure, alerts)."""
