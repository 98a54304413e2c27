"""Conversation flows as pure state machines: (state, message, config) -> Turn. No I/O."""
