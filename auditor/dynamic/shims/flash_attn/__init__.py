"""CPU stand-in for FlashAttention 2's ``flash_attn`` package (same call shapes as FA3's stand-in)."""

from flash_attn_interface import flash_attn_func, flash_attn_qkvpacked_func, flash_attn_varlen_func

__version__ = "2.0.0-pgolf-cpu"
__all__ = ["flash_attn_func", "flash_attn_qkvpacked_func", "flash_attn_varlen_func"]
