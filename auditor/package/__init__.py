"""Record-folder verification (RULEBOOK §4, §6): typed parsing of submission.json and train logs,
package checks (catalog entries under ``rules/package`` and ``rules/budget``), reproduction on a GPU
box, PR and leaderboard modes, and the GitHub Action's helpers.

Entry point for the engine: :func:`auditor.package.verify.verify_folder`.
"""
