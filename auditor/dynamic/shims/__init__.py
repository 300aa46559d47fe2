"""Code that runs inside the sandboxed child (never imported by the auditor except ``valindex``).

The directory is put on the child's ``sys.path`` as a plain folder: modules import each other by bare
name. ``pgboot`` is the entry point; ``flash_attn_interface``, ``flash_attn`` and ``triton`` are
stand-ins for GPU-only packages; ``bin/nvidia-smi`` answers the scripts that shell out to it.
"""
