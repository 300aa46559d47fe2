"""Data access: no validation data in training, no training data or network at eval."""
