"""The definition wing: read, check and model the YAML flows, channels, ladders and lifecycle.

Nothing here imports the conversation wing; it loads and validates, it never talks to anyone.
"""
