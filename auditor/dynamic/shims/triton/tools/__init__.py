"""``triton.tools`` stand-in."""
