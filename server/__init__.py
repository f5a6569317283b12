"""Murmur's REST server: the app factory, storage, domain logic and routes."""
