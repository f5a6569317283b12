"""Murmur's WebSocket hub. Never imports ``server``: what it needs is handed to it."""
