"""Record-folder package checks (PG7xx): files, submission.json, claims vs logs, seeds, significance."""
