"""Runpod provider for podsmith."""

__version__ = "0.1.0"
