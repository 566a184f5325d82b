"""Lab side of nearmiss: intake, redaction, signing, outbox, submission, receipts."""
