"""Handlers of messages, one module per concept; flows/conversation/registry.py registers them."""
