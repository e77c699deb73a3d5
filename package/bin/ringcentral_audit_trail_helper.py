"""The modular input's glue: Splunk in, events out. All collection logic lives in ringcentral_audit.

UCC generates ``bin/ringcentral_audit_trail.py`` (a splunklib ``Script``) that calls
:func:`validate_input` when an input is saved (``--validate-arguments``) and :func:`stream_events`
for each run. This module only translates between Splunk and the library:

* settings: the input stanza, the account (``ta_ringcentral_audit_account``, secrets decrypted
  from storage/passwords by solnlib's ConfManager), the proxy and log level
  (``ta_ringcentral_audit_settings``), all read through splunkd's REST API at ``server_uri``;
* checkpoint: a KV store document (collection ``ta_ringcentral_audit_checkpoints``, key = input
  name), never a file: nothing is written inside the app's folder; beside it (key = input name
  + ``:history``) the ids emitted lately, saved once per window, for reconciliation;
* request budget: the Heavy budget every input of one RingCentral user and app shares, one KV
  store document per input (collection ``ta_ringcentral_audit_budget``);
* OAuth tokens: kept between runs in splunkd's secure storage (storage/passwords, realm
  ``TA-ringcentral-audit#token_cache``, user = account name);
* events: per audit record the XML of one ``splunklib.modularinput.Event`` (written a page at a
  time by ringcentral_audit_trail_stream, handed on once splunkd has read it), and
  (unless the input's "Collection events" box is cleared) one ``ringcentral:audit:collection``
  event per finished window or data-loss warning, after the records it counts;
* logs: ``$SPLUNK_HOME/var/log/splunk/ta_ringcentral_audit_ringcentral_audit_trail.log`` through
  solnlib, every line passed through the library's RedactingFilter;
* SIGTERM/SIGINT: a stop request the collector honours between pages.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from ringcentral_audit.budget import account_key
from ringcentral_audit.client import AuditTrailClient
from ringcentral_audit.clock import SystemClock
from ringcentral_audit.collector import Collector
from ringcentral_audit.errors import (
    SECRETS,
    AuditTrailError,
    CheckpointError,
    ConfigError,
    protect,
)
from ringcentral_audit.events import AuditEvent, xml_safe
from ringcentral_audit.inventory import inventory_events
from ringcentral_audit.settings import (
    parse_account,
    parse_collection_events,
    parse_connection,
    parse_input_settings,
    parse_log_level,
    utc_now,
    validate_input_settings,
)
from ringcentral_audit.state import RESET
from ringcentral_audit.timeutil import parse_time
from ringcentral_audit_trail_stream import (
    OutputClosed,
    PageWriter,
    PipeDrain,
    event_head,
    event_xml,
)
from solnlib import conf_manager, log, server_info, utils
from solnlib.credentials import CredentialManager, CredentialNotExistException
from solnlib.modular_input.checkpointer import KVStoreCheckpointer
from solnlib.soln_exceptions import ConfManagerException, ConfStanzaNotExistException
from splunklib import modularinput as smi

APP_NAME = "TA-ringcentral-audit"
INPUT_TYPE = "ringcentral_audit_trail"
SOURCETYPE = "ringcentral:audit"
COLLECTION_SOURCETYPE = "ringcentral:audit:collection"
ACCOUNT_CONF = "ta_ringcentral_audit_account"
SETTINGS_CONF = "ta_ringcentral_audit_settings"
# Where UCC (splunktaucclib) keeps each conf's encrypted fields, as JSON per stanza.
ACCOUNT_REALM = f"__REST_CREDENTIAL__#{APP_NAME}#configs/conf-{ACCOUNT_CONF}"
SETTINGS_REALM = f"__REST_CREDENTIAL__#{APP_NAME}#configs/conf-{SETTINGS_CONF}"
TOKEN_REALM = f"{APP_NAME}#token_cache"
CHECKPOINT_COLLECTION = "ta_ringcentral_audit_checkpoints"
BUDGET_COLLECTION = "ta_ringcentral_audit_budget"
LOGGER_NAME = "ta_ringcentral_audit_ringcentral_audit_trail"
# UCC's monitoring dashboard reads events_ingested from files named like the app id (with
# hyphens); every other line stays in LOGGER_NAME's file, where admins look.
MONITORING_LOGGER_NAME = "ta-ringcentral-audit_monitoring"
# A collection event's own fields (times, counts, names, kinds): the add-on's values, never
# redacted, so a short secret such as a proxy password "2026" cannot garble the evidence.
OWN_FIELDS = frozenset(
    (
        "kind", "input", "account", "interval_s", "addon_version", "time", "run_started",
        "window_start", "window_end", "loss_start", "loss_end", "total_found", "records_seen",
        "emitted", "duplicates", "requests", "outcome", "reason",
    )
)  # fmt: skip


# ----- Splunk-backed ports ---------------------------------------------------------------------


def share_splunkd_connection() -> None:
    """Every solnlib client of this process talks to splunkd over one HTTP session.

    solnlib 8.2.0 gives each client it creates (ConfManager, CredentialManager, ServerInfo,
    KVStoreCheckpointer: one per read) a requests session of its own, so a run opened six TLS
    connections to splunkd for its dozen REST calls, each loading the system's CA store
    (urllib3 1.26 loads it for every new connection, even with verification off, as solnlib's
    is). Its one seam is ``splunk_rest_client._request_handler(context)``, called once per
    client: wrapped here so that the same context gets the same handler (its session, its
    keep-alive connection). A run is one process and one splunkd, and the handler holds no
    per-client state (solnlib and splunk-sdk are pinned; the built input's tests count the
    connections).
    """
    from solnlib import splunk_rest_client

    make = splunk_rest_client._request_handler
    if getattr(make, "shared", False):
        return
    handlers: Dict[str, Any] = {}

    def shared(context: Dict[str, Any]) -> Any:
        # Pool sizes (KVStoreCheckpointer asks for 5) do not matter to one request at a time.
        same = {k: v for k, v in context.items() if k not in ("pool_connections", "pool_maxsize")}
        key = json.dumps(same, sort_keys=True, default=str)
        if key not in handlers:
            handlers[key] = make(context)
        return handlers[key]

    shared.shared = True  # type: ignore[attr-defined]
    splunk_rest_client._request_handler = shared


def splunkd_address(server_uri: str) -> Dict[str, Any]:
    """scheme/host/port of the splunkd that started us (solnlib needs them outside splunkd's own
    Python, where it cannot discover them through splunk.rest)."""
    parts = urlsplit(server_uri or "")
    if not parts.scheme or not parts.hostname or not parts.port:
        raise ConfigError(f"splunkd passed an unusable server_uri {server_uri!r}")
    return {"scheme": parts.scheme, "host": parts.hostname, "port": parts.port}


class KVStoreCheckpoint:
    """CheckpointStore: one KV store document per input (key = input name)."""

    def __init__(self, session_key: str, address: Mapping[str, Any], input_name: str) -> None:
        self._session_key = session_key
        self._address = dict(address)
        self.key = input_name
        self._store: Optional[KVStoreCheckpointer] = None

    def _checkpointer(self) -> KVStoreCheckpointer:
        if self._store is None:  # created on first use: a KV store outage is a checkpoint error
            self._store = KVStoreCheckpointer(
                CHECKPOINT_COLLECTION, self._session_key, APP_NAME, **self._address
            )
        return self._store

    def load(self) -> Optional[Dict[str, Any]]:
        try:
            state = self._checkpointer().get(self.key)
        except (ValueError, RecursionError):  # the document is there, its JSON is damaged
            raise CheckpointError(
                f"The checkpoint of input {self.key!r} (KV store collection "
                f"{CHECKPOINT_COLLECTION}) is not valid JSON: {RESET}."
            ) from None
        return state if state is None or isinstance(state, dict) else {"cursor": state}

    def save(self, state: Dict[str, Any]) -> None:
        self._checkpointer().update(self.key, state)


class KVStoreBudget:
    """BudgetStore: the Heavy request budget shared by every input of one RingCentral user and
    app, one KV store document per input (key = account digest + input name, field ``account``
    = the digest) in collection ``ta_ringcentral_audit_budget``; each input writes only its own."""

    def __init__(
        self, session_key: str, address: Mapping[str, Any], account: str, input_name: str
    ) -> None:
        self._session_key = session_key
        self._address = dict(address)
        self.account = account
        self.key = f"{account}:{input_name}"
        self._store: Optional[KVStoreCheckpointer] = None

    def _checkpointer(self) -> KVStoreCheckpointer:
        if self._store is None:
            self._store = KVStoreCheckpointer(
                BUDGET_COLLECTION, self._session_key, APP_NAME, **self._address
            )
        return self._store

    def load_all(self) -> List[Dict[str, Any]]:
        # solnlib's checkpointer reads by key only: its collection's query finds the account's
        data = self._checkpointer()._collection_data
        docs = []
        for row in data.query(query=json.dumps({"account": self.account})):
            try:
                doc = json.loads(row.get("state") or "null")
            except (ValueError, RecursionError):
                continue
            if isinstance(doc, dict):
                docs.append(doc)
        return docs

    def save(self, doc: Dict[str, Any]) -> None:
        data = self._checkpointer()._collection_data
        data.batch_save({"_key": self.key, "account": self.account, "state": json.dumps(doc)})


class SecureTokenStore:
    """TokenStore: the account's OAuth token state as JSON in splunkd's storage/passwords."""

    def __init__(self, session_key: str, address: Mapping[str, Any], account_name: str) -> None:
        self._manager = CredentialManager(session_key, APP_NAME, realm=TOKEN_REALM, **dict(address))
        self.account_name = account_name

    def load(self) -> Optional[Dict[str, Any]]:
        try:
            text = self._manager.get_password(self.account_name)
        except CredentialNotExistException:
            return None
        SECRETS.add(text)
        data = json.loads(text)
        return data if isinstance(data, dict) else None

    def save(self, data: Dict[str, Any]) -> None:
        text = json.dumps(data, separators=(",", ":"))
        SECRETS.add(text)
        self._manager.set_password(self.account_name, text)


class EventWriterSink:
    """EventSink: each page of AuditEvents goes to splunkd as the XML splunklib's EventWriter
    would write for one ``Event`` per record (byte for byte), in one flush per page, and is
    handed on only once splunkd has read it (see ringcentral_audit_trail_stream); the stream is
    always well-formed XML (see events.xml_safe)."""

    def __init__(
        self,
        writer: smi.EventWriter,
        *,
        index: Optional[str],
        source: str,
        drain: Optional[PipeDrain] = None,
    ) -> None:
        self.writer = writer
        # splunklib 2.1.1's EventWriter has no public way to write prepared event XML or to
        # flush: the stream it writes to (the one its write_event and close use, sys.stdout
        # under splunkd) is its ``_out``. Writing there keeps our pages in order with the
        # <stream> and </stream> it writes itself (splunk-sdk is pinned; tests cover it).
        stream = writer._out
        self.pages = PageWriter(stream, drain)
        # "default" (inputs.conf's own default) is not an index name: let splunkd route the
        # events as configured for the input instead of naming an index.
        self.index = index if index and index != "default" else None
        self.source = source
        self.count = 0
        self._records = event_head(source=source, sourcetype=SOURCETYPE, index=self.index)
        self._collection = event_head(
            source=source, sourcetype=COLLECTION_SOURCETYPE, index=self.index
        )

    def _header(self) -> str:
        """splunklib's ``<stream>``, written before the first event (its close() ends it)."""
        if self.writer.header_written:
            return ""
        self.writer.header_written = True
        return "<stream>"

    def write(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        head = self._records
        # events.to_event already wrote XML-unsafe code points as JSON escapes; again here, so
        # nothing can make splunkd's stream ill-formed.
        self.pages.write(
            (event_xml(xml_safe(e.data), f"{e.time:.3f}", head) for e in events), self._header()
        )
        self.count += len(events)

    # Collection (coverage) events, see COLLECTION_EVENTS.md: set by run_input from the stanza.
    account: str = ""
    interval_s: Optional[int] = None
    collection_events: bool = True
    progress_log: Optional[logging.Logger] = None  # window_finished lines, box on or off

    def write_collection(self, doc: Mapping[str, Any]) -> None:
        """One collection event: the collector's doc as JSON, plus the account and interval.

        The collector calls this after the window's records went through :meth:`write`, so a
        coverage event is flushed only behind the records it counts. A no-op when the input's
        "Collection events" box is cleared.
        """
        if self.progress_log is not None and doc.get("kind") == "window":
            # Progress the Collection stalled alert and Collection health read whatever the
            # "Collection events" box says: a long run finishing windows is not stalled.
            self.progress_log.info(
                "action=window_finished input=%s window_start=%s window_end=%s emitted=%s",
                _quoted(str(doc.get("input") or "")),
                doc.get("window_start"),
                doc.get("window_end"),
                doc.get("emitted"),
            )
        if not self.collection_events:
            return
        body: Dict[str, Any] = {}
        for key, value in doc.items():
            body[str(key)] = value
            if key == "input":  # the glue's fields next to the input's name, as in the contract
                body["account"] = self.account
                body["interval_s"] = self.interval_s
        body["account"] = self.account
        body["interval_s"] = self.interval_s
        when = parse_time(doc.get("time"))
        self.write_documents([body], when)

    def write_documents(self, docs: Sequence[Mapping[str, Any]], when: Optional[float]) -> None:
        """Collection events (sourcetype ringcentral:audit:collection) as one page: each doc as
        JSON, its foreign text redacted, the add-on's own fields as they are."""
        time_text = None if when is None else f"{when:.3f}"
        self.pages.write(
            [
                event_xml(
                    json.dumps(
                        SECRETS.redact_json(doc, keep=OWN_FIELDS),
                        separators=(",", ":"),
                        default=str,
                    ),
                    time_text,
                    self._collection,
                )
                for doc in docs
            ],
            self._header(),
        )


def collection_events_enabled(params: Mapping[str, Any]) -> bool:
    """The input's "Collection events" checkbox: 1/0/true/false; absent or empty (inputs made
    before it existed) is on; anything else is a ConfigError naming the field."""
    return parse_collection_events(params)


def interval_seconds(params: Mapping[str, Any]) -> Optional[int]:
    """The input's interval in whole seconds, None if it is not a number (a cron schedule)."""
    try:
        seconds = float(str(params.get("interval") or "").strip())
    except ValueError:
        return None
    return int(seconds) if seconds == seconds and abs(seconds) < 1e12 else None


# ----- settings from splunkd -----------------------------------------------------------------


def collects_here(session_key: str, address: Mapping[str, Any]) -> bool:
    """False on a search head cluster member that is not the captain.

    Splunk starts an input on every member where it is enabled; only the captain collects. The
    checkpoint is in the cluster's shared KV store, so a new captain goes on where the last one
    stopped.
    """
    info = server_info.ServerInfo(session_key, **address)
    return not info.is_shc_member() or info.is_captain()


def read_settings(session_key: str, address: Mapping[str, Any]) -> Dict[str, Any]:
    """The log level and proxy stanza, as solnlib's get_log_level / get_proxy_dict read them.

    Those two functions locate splunkd themselves (through Splunk's own splunk.rest module); the
    same reads are done here against the server_uri splunkd handed to the input.
    """
    manager = conf_manager.ConfManager(session_key, APP_NAME, realm=SETTINGS_REALM, **address)
    result: Dict[str, Any] = {"loglevel": "INFO", "proxy": None}
    try:
        conf = manager.get_conf(SETTINGS_CONF)
    except ConfManagerException:
        return result
    try:
        result["loglevel"] = parse_log_level(conf.get("logging"))
    except ConfStanzaNotExistException:
        pass
    try:
        proxy = conf.get("proxy")
    except ConfStanzaNotExistException:
        return result
    result["proxy"] = {
        k: v for k, v in proxy.items() if not k.startswith("eai:") and k != "disabled"
    }
    return result


def read_account(session_key: str, address: Mapping[str, Any], name: str) -> Dict[str, Any]:
    """The account stanza with client_secret and jwt decrypted; ConfigError if there is none."""
    if not name:
        raise ConfigError("The input has no account: pick one on the input's page.")
    manager = conf_manager.ConfManager(session_key, APP_NAME, realm=ACCOUNT_REALM, **address)
    try:
        stanza = manager.get_conf(ACCOUNT_CONF).get(name)
    except (ConfManagerException, ConfStanzaNotExistException):
        raise ConfigError(
            f"Account {name!r} does not exist: add it under Configuration > Accounts, or pick "
            "another account for this input."
        ) from None
    except CredentialNotExistException:
        raise ConfigError(
            f"The client secret and JWT of account {name!r} are missing from Splunk's secure "
            "storage: edit the account and enter them again."
        ) from None
    return dict(stanza)


# ----- logging -------------------------------------------------------------------------------


def get_logger() -> logging.Logger:
    """solnlib's logger for this input type, every handler behind the RedactingFilter.

    solnlib finds $SPLUNK_HOME/var/log/splunk through Splunk's own Python; the directory is set
    from SPLUNK_HOME (which splunkd always passes) so it is the same under any interpreter.
    """
    splunk_home = os.environ.get("SPLUNK_HOME")
    if splunk_home:
        log.Logs.set_context(directory=os.path.join(splunk_home, "var", "log", "splunk"))
        logger = log.Logs().get_logger(LOGGER_NAME)
    else:  # started by hand, outside splunkd: log to stderr
        logger = logging.getLogger(LOGGER_NAME)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler(sys.stderr))
    protect(logger)
    for handler in logger.handlers:
        if not any(isinstance(f, _QuietRetries) for f in handler.filters):
            handler.addFilter(_QuietRetries(logger))
    # Libraries log through the root logger (solnlib, urllib3): into the same file, redacted.
    root = logging.getLogger()
    for handler in logger.handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(logging.WARNING)
    return logger


def monitoring_logger() -> logging.Logger:
    """Where the events_ingested line goes for UCC's monitoring dashboard (see above)."""
    splunk_home = os.environ.get("SPLUNK_HOME")
    if not splunk_home:
        return logging.getLogger(MONITORING_LOGGER_NAME)
    log.Logs.set_context(directory=os.path.join(splunk_home, "var", "log", "splunk"))
    return log.Logs().get_logger(MONITORING_LOGGER_NAME)


class _QuietRetries(logging.Filter):
    """solnlib's @retry logs a WARNING with a traceback for every expected miss (a stanza or
    secret not there yet): keep those for DEBUG; the outcome is logged by the input itself."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "root" and str(record.msg).startswith("Run function:"):
            return self.logger.isEnabledFor(logging.DEBUG)
        return True


# ----- the two entry points ------------------------------------------------------------------


def validate_input(definition: smi.ValidationDefinition) -> None:
    """Refuse bad input settings when an input is saved; the message says what to fix."""
    name = str(definition.metadata.get("name") or "")
    params = dict(definition.parameters)
    now = utc_now()
    try:
        validate_input_settings(name, params, now)
    except AuditTrailError as error:
        raise ValueError(str(error)) from None
    session_key = definition.metadata.get("session_key")
    server_uri = definition.metadata.get("server_uri")
    account_name = str(params.get("account") or "")
    if not (session_key and server_uri and account_name):
        return
    SECRETS.add(session_key)
    try:
        raw = read_account(session_key, splunkd_address(server_uri), account_name)
    except AuditTrailError as error:  # the account does not exist, or lost its secrets
        raise ValueError(str(error)) from None
    except Exception as error:  # noqa: BLE001 - splunkd trouble: say so, without its details
        raise ValueError(
            f"Could not read account {account_name!r} from splunkd ({type(error).__name__}): "
            "try saving the input again."
        ) from None
    try:
        parse_account(raw, now)
    except AuditTrailError as error:
        raise ValueError(f"Account {account_name!r}: {error}") from None


def stream_events(inputs: smi.InputDefinition, event_writer: smi.EventWriter) -> None:
    """One run of each input splunkd passed (one per process: use_single_instance is off)."""
    logger = get_logger()
    share_splunkd_connection()
    stop = threading.Event()
    utils.handle_teardown_signals(lambda *_: stop.set())
    session_key = str(inputs.metadata.get("session_key") or "")
    SECRETS.add(session_key)
    failures: List[str] = []
    for stanza_name, params in inputs.inputs.items():
        if stop.is_set():
            break
        name = stanza_name.split("://", 1)[-1]
        failure = run_input(name, dict(params), inputs.metadata, event_writer, logger, stop)
        if failure:
            failures.append(failure)
    if failures:
        # Each failure is on stderr already (splunkd copies it to splunkd.log) and in our log.
        # Close the stream so the events written before the failure stay well-formed, and exit
        # with status 1 without a second, traceback-laden copy of the message.
        event_writer.close()
        raise SystemExit(1)


def _quoted(text: str) -> str:
    """A value for a key=value log line, as the collector writes them."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def write_inventory(
    session_key: str,
    address: Mapping[str, Any],
    name: str,
    metadata: Mapping[str, Any],
    event_writer: smi.EventWriter,
    index: Optional[str],
    logger: logging.Logger,
) -> None:
    """The inventory events (see inventory.py): every input stanza of this type on this host,
    disabled ones included. Written whatever the input's "Collection events" box says: they
    are what lets the views tell a disabled or never-run input from a missing one. Never fails
    the run: a splunkd hiccup here is logged and collection goes on."""
    try:
        stanzas = conf_manager.ConfManager(session_key, APP_NAME, **address).get_conf("inputs")
        docs = inventory_events(
            stanzas.get_all(only_current_app=False),
            reported_by=name,
            host=str(metadata.get("server_host") or ""),
            now=utc_now(),
        )
    except Exception as error:  # noqa: BLE001 - evidence is best effort, collection is not
        logger.warning("action=inventory_error input=%s error=%s", name, type(error).__name__)
        return
    sink = EventWriterSink(event_writer, index=index, source=f"{INPUT_TYPE}://{name}")
    sink.write_documents(docs, utc_now())
    logger.info("action=inventory input=%s inputs=%d", name, len(docs))


def run_input(
    name: str,
    params: Dict[str, Any],
    metadata: Mapping[str, Any],
    event_writer: smi.EventWriter,
    logger: logging.Logger,
    stop: threading.Event,
) -> Optional[str]:
    """Collect one input; returns None on success or stop, else the (secret-free) error."""
    full_name = f"{INPUT_TYPE}://{name}"
    account_name = str(params.get("account") or "")
    index = params.get("index")
    sink = EventWriterSink(event_writer, index=index, source=full_name)
    sink.account = account_name
    sink.interval_s = interval_seconds(params)
    sink.progress_log = logger
    log.modular_input_start(logger, name)
    error: Optional[str] = None
    try:
        session_key = str(metadata.get("session_key") or "")
        address = splunkd_address(str(metadata.get("server_uri") or ""))
        settings = read_settings(session_key, address)
        logger.setLevel(settings["loglevel"])
        if not collects_here(session_key, address):
            logger.info(
                "action=collection_skipped input=%s reason=shc_member_not_captain: on a search "
                "head cluster only the captain collects",
                name,
            )
            return None
        write_inventory(session_key, address, name, metadata, event_writer, index, logger)
        now = utc_now()
        input_settings = parse_input_settings(name, params, now)
        sink.collection_events = collection_events_enabled(params)
        account_stanza = read_account(session_key, address, account_name)
        account = parse_account(account_stanza, now)
        connection = parse_connection(account_stanza, settings["proxy"])
        clock = SystemClock(stop)
        client = AuditTrailClient(
            account,
            connection,
            tokens=SecureTokenStore(session_key, address, account_name),
            clock=clock,
            logger=logger,
            budget=KVStoreBudget(
                session_key,
                address,
                account_key(account.server_url, account.client_id, account.jwt),
                name,
            ),
            member=name,
        )
        try:
            Collector(
                client,
                input_settings,
                checkpoint=KVStoreCheckpoint(session_key, address, name),
                # input names are word characters only: this key is no input's
                history=KVStoreCheckpoint(session_key, address, f"{name}:history"),
                sink=sink,
                clock=clock,
                logger=logger,
                stop=stop,
            ).run()
        finally:
            client.close()
    except OutputClosed as failure:  # splunkd went away: nothing it did not read is lost
        error = f"{full_name}: {failure}"
        logger.error("action=output_closed input=%s message=%r", name, str(failure))
    except AuditTrailError as failure:  # the message says what to fix and holds no secret
        error = f"{full_name}: {failure.message}"
        label = "Configuration Error" if isinstance(failure, ConfigError) else "Collection Error"
        log.log_exception(logger, failure, label, full_msg=False)
        if isinstance(failure, ConfigError):  # the collector logs its own errors structured
            logger.error(
                "action=collection_error input=%s error_kind=configuration message=%s",
                _quoted(name),
                _quoted(failure.message),
            )
    except Exception as failure:  # noqa: BLE001 - anything else is logged (redacted) and reported
        error = f"{full_name}: unexpected {type(failure).__name__}: {SECRETS.redact(str(failure))}"
        log.log_exception(logger, failure, "Unexpected Error")
    finally:
        for target in (logger, monitoring_logger()):
            log.events_ingested(
                target, full_name, SOURCETYPE, sink.count, index or "default", account=account_name
            )
        log.modular_input_end(logger, name)
    if error:
        try:
            event_writer.log(smi.EventWriter.ERROR, SECRETS.redact(error))
        except OSError:  # splunkd closed stderr too (it is restarting): the log file has it
            pass
    return error
