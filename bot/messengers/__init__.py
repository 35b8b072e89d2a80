"""Messengers: each translates its updates into `Incoming` and renders `Reply` back."""
