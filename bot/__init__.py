"""Doudi's server side: the aiohttp app, the WeChat webhook, outbound messaging, config and CLI."""
