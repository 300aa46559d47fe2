"""pgolf-audit: a compliance auditor and submission verifier for OpenAI's Parameter Golf challenge."""

__version__ = "0.1.0"
#: the date of the RULEBOOK snapshot the rules implement (upstream main as of this date)
RULESET_DATE = "2026-05-02"
