"""The notify adapter: SMS and e-mail to a borrower's or a party's people.

`Notifier` is the interface; `HttpNotifyClient` speaks to a configured gateway and `SimulatedNotify`
answers in process (it checks the address and stores nothing: the platform keeps its own outbox and
in-app notices). Both raise `handlers.errors.ProviderError` (refused) or `ProviderUnavailable` (down).
"""
from __future__ import annotations

from .client import HttpNotifyClient
from .model import CHANNELS, Notification, Notifier, SendResult
from .simulator import SimulatedNotify, valid_email, valid_mobile

__all__ = ["CHANNELS", "HttpNotifyClient", "Notification", "Notifier", "SendResult", "SimulatedNotify", "valid_email",
           "valid_mobile"]
