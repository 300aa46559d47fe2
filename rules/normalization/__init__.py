"""C2-NORMALIZED: every score comes from a full, normalized distribution over the vocabulary."""
