"""Reference implementation of the Parameter Golf stack: the ground truth for the metric."""
