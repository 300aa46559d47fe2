"""C1-CAUSAL: the prediction at t depends only on the artifact and the strict prefix."""
