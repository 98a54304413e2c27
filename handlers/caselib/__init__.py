"""Case library matcher: finds the solved case that answers a citizen's message.

Public API lives in :mod:`handlers.caselib.matcher`.
"""
