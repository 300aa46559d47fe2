"""C3/C4: no state update from a token before it is scored; each token scored once."""
