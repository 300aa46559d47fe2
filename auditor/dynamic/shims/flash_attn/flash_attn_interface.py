"""``flash_attn.flash_attn_interface``: the FA2 module path of the same stand-ins."""

from flash_attn_interface import flash_attn_func, flash_attn_qkvpacked_func, flash_attn_varlen_func

__all__ = ["flash_attn_func", "flash_attn_qkvpacked_func", "flash_attn_varlen_func"]
