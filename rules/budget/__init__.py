"""Budget checks on record folders (PG61x-PG63x): artifact cap, code counting, training and evaluation time."""
