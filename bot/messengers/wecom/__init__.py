"""WeChat through WeCom customer service (微信客服): callbacks, the pull loop, budgeted replies."""
