"""REST handler of the Accounts tab: an account is saved only once it has proved it works.

UCC generates ``ta_ringcentral_audit_rh_account.py`` (the endpoint model) and hands every
request to :class:`AccountValidationHandler`. Creating or editing an account first logs in to
RingCentral with the submitted credentials, through the proxy of the Proxy tab, and runs one
minimal Audit Trail search (the library's ``validate_account``). If that fails, the account is
not saved and the admin sees the library's message, which says what to fix and never contains
a secret. Deleting an account also deletes the access token the inputs cached for it.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlsplit

from ringcentral_audit.errors import SECRETS, AuditTrailError, protect
from ringcentral_audit.settings import parse_account, parse_connection, parse_name, utc_now
from ringcentral_audit.validation import validate_account
from solnlib import conf_manager, log
from solnlib.credentials import CredentialManager, CredentialNotExistException
from solnlib.soln_exceptions import ConfManagerException, ConfStanzaNotExistException
from splunktaucclib.rest_handler.admin_external import AdminExternalHandler, get_splunkd_endpoint
from splunktaucclib.rest_handler.error import RestError
from ta_ringcentral_audit_rh_guard import GuardedHandler

APP_NAME = "TA-ringcentral-audit"
SETTINGS_CONF = "ta_ringcentral_audit_settings"
PROXY_STANZA = "proxy"
# Where splunktaucclib keeps the Proxy tab's password (the realm solnlib's get_proxy_dict uses).
PROXY_REALM = f"__REST_CREDENTIAL__#{APP_NAME}#configs/conf-{SETTINGS_CONF}"
# Where the modular input caches each account's OAuth tokens (ringcentral_audit_trail_helper).
TOKEN_REALM = f"{APP_NAME}#token_cache"
# The file name starts with the app id in lower case: UCC's monitoring dashboard reads
# index=_internal source=*ta-ringcentral-audit*.
LOGGER_NAME = "ta-ringcentral-audit_account_validation"

ACCOUNT_FIELDS = (
    "server",
    "custom_server_url",
    "client_id",
    "client_secret",
    "jwt",
    "ca_bundle_path",
)
SECRET_FIELDS = ("client_secret", "jwt")
# What the setup page sends back for a secret the admin left unchanged.
PLACEHOLDERS = ("******", "********")


def get_logger() -> logging.Logger:
    """The handler's log file, $SPLUNK_HOME/var/log/splunk/<LOGGER_NAME>.log, with redaction;
    the root logger too (libraries' warnings reach splunkd.log through it)."""
    protect(logging.getLogger())
    return protect(log.Logs().get_logger(LOGGER_NAME))


def merge_account(
    payload: Mapping[str, Any], stored: Optional[Mapping[str, Any]]
) -> Dict[str, str]:
    """The account as it will be after the save: the payload over the stored account.

    On edit the setup page sends placeholders for secrets the admin did not retype, and a
    REST client may send only the fields it changes: both keep the stored value.
    """
    stored = stored or {}
    merged: Dict[str, str] = {}
    for name in ACCOUNT_FIELDS:
        value = payload.get(name)
        if value is None or (name in SECRET_FIELDS and value in PLACEHOLDERS):
            value = stored.get(name)
        merged[name] = "" if value is None else str(value)
    return merged


def splunkd_address() -> Dict[str, Any]:
    """scheme, host and port of splunkd, as splunktaucclib found them for this request."""
    parts = urlsplit(get_splunkd_endpoint())
    return {"scheme": parts.scheme, "host": parts.hostname, "port": parts.port}


def read_proxy_stanza(session_key: str) -> Optional[Dict[str, Any]]:
    """The Proxy tab's stanza with its password decrypted, or None if it was never saved."""
    manager = conf_manager.ConfManager(
        session_key, APP_NAME, realm=PROXY_REALM, **splunkd_address()
    )
    try:
        conf = manager.get_conf(SETTINGS_CONF)
    except ConfManagerException:
        return None
    try:
        stanza = conf.get(PROXY_STANZA)
    except ConfStanzaNotExistException:
        return None
    return {key: value for key, value in stanza.items() if not key.startswith("eai:")}


def delete_cached_token(session_key: str, account_name: str) -> None:
    """Delete the tokens the inputs cached for the account; none cached is no error."""
    manager = CredentialManager(session_key, APP_NAME, realm=TOKEN_REALM, **splunkd_address())
    try:
        manager.delete_password(account_name)
    except CredentialNotExistException:
        pass


def _redacted(error: RestError) -> RestError:
    """The same REST error with any secret (e.g. echoed by splunkd) taken out of its message."""
    return RestError(error.status, SECRETS.redact(str(error.message)))


class AccountValidationHandler(GuardedHandler):
    """Accounts endpoint: validates on create and edit, then saves as UCC's handler does.

    Order of checks, all before any request to RingCentral: the caller's capability
    (GuardedHandler), the account's name, the library's own parse (it refuses a URL with
    user:password@ and says where credentials belong), then the page's field validators
    (globalConfig.json, as UCC's handler would run them), then the login.
    """

    LOGGER_NAME = LOGGER_NAME

    def check_payload(self, create: bool) -> None:
        if create:
            parse_name(self.callerArgs.id, "Account")

    def handleCreate(self, confInfo: Any) -> None:
        self.check_account(merge_account(self.payload, None), existing=None)
        try:
            AdminExternalHandler.handleCreate(self, confInfo)
        except RestError as error:
            raise _redacted(error) from None

    def handleEdit(self, confInfo: Any) -> None:
        if self.payload.get("disabled") is None:  # enable/disable changes no credential
            stored = self.stored_account()
            self.check_account(merge_account(self.payload, stored), existing=stored)
        try:
            AdminExternalHandler.handleEdit(self, confInfo)
        except RestError as error:
            raise _redacted(error) from None

    def handleRemove(self, confInfo: Any) -> None:
        AdminExternalHandler.handleRemove(self, confInfo)
        name = str(self.callerArgs.id)
        logger = get_logger()
        SECRETS.add(self.getSessionKey())
        try:
            delete_cached_token(self.getSessionKey(), name)
        # The account is gone: a token left in storage is only logged (by solnlib, so the
        # monitoring dashboard's error panels see it).
        except Exception as error:  # noqa: BLE001
            log.log_exception(
                logger,
                error,
                "Token Cache Error",
                msg_before=f"Account {name!r} deleted, but not the token cached for it:",
                log_level=logging.WARNING,
            )

    def stored_account(self) -> Dict[str, Any]:
        """The saved account with its secrets decrypted, as splunktaucclib stores it."""
        entities = list(self.handler.get(self.callerArgs.id, decrypt=True))
        content = dict(entities[0].content) if entities else {}
        for name in SECRET_FIELDS:
            SECRETS.add(str(content.get(name) or ""))
        return content

    def check_fields(self, existing: Optional[Mapping[str, Any]]) -> None:
        """The page's field validators (globalConfig.json), run as UCC's handler runs them on
        save, but before the login rather than after it."""
        endpoint = getattr(self.handler, "_endpoint", None) or getattr(self, "endpoint", None)
        if endpoint is None:
            return
        data = dict(self.payload)
        endpoint.validate(self.callerArgs.id, data, existing)
        endpoint.validate_special(self.callerArgs.id, data)

    def check_account(
        self, raw: Mapping[str, str], existing: Optional[Mapping[str, Any]] = None
    ) -> None:
        """Raise RestError(400, what to fix) unless the account can read the audit trail."""
        logger = get_logger()
        name = self.callerArgs.id
        SECRETS.add(self.getSessionKey())
        try:
            account = parse_account(raw, now=utc_now())  # registers the secrets first
            self.check_fields(existing)
            connection = parse_connection(raw, read_proxy_stanza(self.getSessionKey()))
            validate_account(account, connection, logger=logger)
        except AuditTrailError as error:
            logger.warning("Account %r refused: %s", name, error)
            raise RestError(400, SECRETS.redact(str(error))) from None
        except RestError as error:
            logger.warning("Account %r refused: %s", name, error.message)
            raise _redacted(error) from None
        # Its text may hold a secret: logged (redacted, with solnlib's exc_l label), never echoed.
        except Exception as error:  # noqa: BLE001
            log.log_exception(
                logger,
                error,
                "Account Validation Error",
                msg_before=f"Account {name!r} could not be validated:",
            )
            raise RestError(
                500,
                f"The account could not be validated ({type(error).__name__}); see "
                f"{LOGGER_NAME}.log in Splunk's _internal index.",
            ) from None
        logger.info("Account %r validated against %s", name, account.server_url)
