"""JSON schemas of the reports (package data, validated in tests)."""
