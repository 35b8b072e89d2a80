"""What the engine does with a message, one module per concept; flows/conversation/registry.py
says which handler takes which command, button and typed text."""
