"""Metric rules: the bpb formula and the tokenizer byte accounting."""
