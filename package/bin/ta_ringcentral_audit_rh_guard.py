"""What every REST handler of the add-on does first, and how its answers are kept safe.

* **Least privilege.** Every action (list, create, edit, remove) needs the capability
  ``ta_ringcentral_audit_admin`` (declared in authorize.conf, granted to admin and sc_admin).
  restmap.conf asks splunkd to require it; the handler checks it again, with the caller's own
  session key against ``authentication/current-context``, before any other request, connection
  or file access: a session without it gets 403 and causes nothing else.
* **Values checked before the save.** ``check_payload`` (each handler's own parse, the one the
  modular input applies at run time) runs after the capability check and before splunktaucclib
  stores anything, so a refused value leaves nothing half-stored.
* **Safe answers.** No answer carries a secret (the registry's redaction) or a Python traceback
  (splunktaucclib sends ``traceback.format_exc()`` as the message of any unexpected error): a
  traceback is logged, redacted, and the admin reads one sentence naming the log file.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import Any, Callable, Dict, Set
from urllib.parse import urlsplit

from ringcentral_audit.errors import SECRETS, AuditTrailError, protect
from solnlib import log
from solnlib.splunk_rest_client import SplunkRestClient
from splunktaucclib.rest_handler.admin_external import AdminExternalHandler, get_splunkd_endpoint
from splunktaucclib.rest_handler.error import RestError

APP_NAME = "TA-ringcentral-audit"
CAPABILITY = "ta_ringcentral_audit_admin"
ACTIONS = ("handleList", "handleCreate", "handleEdit", "handleRemove")
WRITES = ("handleCreate", "handleEdit")
_INTERNALS = re.compile(r"Traceback \(most recent call last\)|File \"|object at 0x|\n\s+")


def splunkd_address() -> Dict[str, Any]:
    """scheme, host and port of splunkd, as splunktaucclib found them for this request."""
    parts = urlsplit(get_splunkd_endpoint())
    return {"scheme": parts.scheme, "host": parts.hostname, "port": parts.port}


def capabilities(session_key: str) -> Set[str]:
    """The capabilities of the session's user, as splunkd reports them."""
    client = SplunkRestClient(session_key, "-", owner="-", **splunkd_address())
    response = client.get("authentication/current-context", output_mode="json")
    body = json.loads(response.body.read())
    content = body["entry"][0]["content"]
    return {str(name) for name in content.get("capabilities") or []}


def safe_message(message: object, logger: logging.Logger, status: int) -> str:
    """A REST error's message as the admin may read it: redacted, and never Python internals."""
    text = SECRETS.hide_short(SECRETS.redact(str(message)))  # splunkd's text, none of ours
    if _INTERNALS.search(text) or len(text) > 1000:
        logger.error("REST request failed (HTTP %s): %s", status, text)
        return (
            f"The request failed on the server (HTTP {status}); the details are in "
            f"{logger.name}.log in Splunk's _internal index."
        )
    return text


def _guarded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(self: GuardedHandler, confInfo: Any) -> Any:
        self.require_capability()
        logger = self.logger()
        try:
            if name in WRITES and self.payload is not None and "disabled" not in self.payload:
                try:
                    self.check_payload(name == "handleCreate")
                except AuditTrailError as error:
                    raise RestError(400, error.message) from None
            return method(self, confInfo)
        except RestError as error:
            raise RestError(
                error.status, safe_message(error.message, logger, error.status)
            ) from None
        except Exception as error:  # noqa: BLE001 - logged (redacted), answered in one sentence
            log.log_exception(logger, error, "REST Handler Error", msg_before="Request failed:")
            raise RestError(
                500,
                f"The request failed on the server ({type(error).__name__}); the details are in "
                f"{logger.name}.log in Splunk's _internal index.",
            ) from None

    guarded._guarded = True  # type: ignore[attr-defined]
    return guarded


class GuardedHandler(AdminExternalHandler):
    """UCC's handler with the capability check first and safe answers; subclasses' own
    handleList/Create/Edit/Remove are wrapped the same way (``__init_subclass__``)."""

    LOGGER_NAME = "ta-ringcentral-audit_rest"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ACTIONS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_guarded", False):
                setattr(cls, name, _guarded(name, method))

    def logger(self) -> logging.Logger:
        protect(logging.getLogger())
        return protect(log.Logs().get_logger(self.LOGGER_NAME))

    def require_capability(self) -> None:
        """403 unless the caller holds CAPABILITY; checked once per request, before anything."""
        if getattr(self, "_capable", False):
            return
        session_key = self.getSessionKey()
        SECRETS.add(session_key)
        try:
            held = capabilities(session_key)
        except Exception as error:  # noqa: BLE001 - cannot tell: refuse
            self.logger().warning(
                "Could not read the caller's capabilities (%s): request refused",
                type(error).__name__,
            )
            held = set()
        if CAPABILITY not in held:
            raise RestError(
                403,
                f"This needs the capability {CAPABILITY} (roles admin and sc_admin have it): "
                "ask a Splunk administrator.",
            )
        self._capable = True

    def check_payload(self, create: bool) -> None:
        """Raise an AuditTrailError (shown as 400) unless the submitted values may be saved."""

    def handleList(self, confInfo: Any) -> Any:
        return AdminExternalHandler.handleList(self, confInfo)

    def handleCreate(self, confInfo: Any) -> Any:
        return AdminExternalHandler.handleCreate(self, confInfo)

    def handleEdit(self, confInfo: Any) -> Any:
        return AdminExternalHandler.handleEdit(self, confInfo)

    def handleRemove(self, confInfo: Any) -> Any:
        return AdminExternalHandler.handleRemove(self, confInfo)


for _name in ACTIONS:
    setattr(GuardedHandler, _name, _guarded(_name, GuardedHandler.__dict__[_name]))
