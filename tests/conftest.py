"""Shared factories for respguard tests."""
