"""complaint-bot: the application around the flow engine (CLI, config, messengers)."""
