"""The channel-agnostic conversation engine and the YAML flows it runs."""
