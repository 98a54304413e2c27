"""Conversation flows as pure state machines: (state, message) -> (state, replies, effects)."""
