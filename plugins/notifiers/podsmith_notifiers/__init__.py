"""podsmith notifiers: a JSON progress webhook (`webhook`) and a Discord webhook (`discord`)."""

from podsmith_notifiers.notifier import HttpNotifier, NotifierStats
from podsmith_notifiers.plugin import NotifierPlugin

__all__ = ["HttpNotifier", "NotifierPlugin", "NotifierStats"]
