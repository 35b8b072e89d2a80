"""The conversation wing: the engine, the turn and its handlers, and what a person is shown.

It runs the flows the definition wing loaded, against the ports in `flows.ports`.
"""
