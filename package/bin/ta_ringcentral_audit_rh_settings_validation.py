"""REST handler of the Proxy and Logging tabs (the ``ta_ringcentral_audit_settings`` endpoint).

UCC 6.6 builds this endpoint with its plain handler; the build hook (additional_packaging.py)
hands its requests to :class:`SettingsHandler` instead, which adds what the other handlers do:
the capability check first, the library's own parse of the values (the one the modular input
applies at run time, so a value saved here always runs), and answers without secrets or
tracebacks (GuardedHandler).
"""

from __future__ import annotations

from typing import Any, Dict

from ringcentral_audit.errors import SECRETS
from ringcentral_audit.settings import parse_log_level, parse_proxy
from ta_ringcentral_audit_rh_guard import GuardedHandler

LOGGER_NAME = "ta-ringcentral-audit_settings"
PLACEHOLDERS = ("******", "********")


class SettingsHandler(GuardedHandler):
    LOGGER_NAME = LOGGER_NAME

    def check_payload(self, create: bool) -> None:
        stanza = str(self.callerArgs.id)
        payload: Dict[str, Any] = dict(self.payload or {})
        password = payload.get("proxy_password")
        if password and password not in PLACEHOLDERS:
            SECRETS.add_pair(payload.get("proxy_username"), str(password))
        if stanza == "proxy":
            stored = self.stored(stanza)
            merged = {**stored, **payload}
            merged.pop("proxy_password", None)  # a secret: not needed to check the others
            parse_proxy(merged)
        elif stanza == "logging":
            parse_log_level(payload)

    def stored(self, stanza: str) -> Dict[str, Any]:
        """The stanza as saved (secrets left encrypted), {} if there is none yet."""
        try:
            entities = list(self.handler.get(stanza))
        except Exception:  # noqa: BLE001 - nothing saved yet
            return {}
        content = dict(entities[0].content) if entities else {}
        return {k: v for k, v in content.items() if not str(k).startswith("eai:")}
