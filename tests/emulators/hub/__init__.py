"""Hugging Face Hub emulator: see `server.HubEmulator` and the `hub_emulator` pytest fixture."""

from .server import HubEmulator, LoggedRequest

__all__ = ["HubEmulator", "LoggedRequest"]
