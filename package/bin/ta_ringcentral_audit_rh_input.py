"""REST handler of the inputs: deleting an input also deletes its checkpoint.

UCC generates ``ta_ringcentral_audit_rh_ringcentral_audit_trail.py`` (the endpoint model) and
hands every request to :class:`InputHandler`. The input's checkpoint is a document of the KV
store collection ``ta_ringcentral_audit_checkpoints`` whose key is the input's name. Left
behind, it would make a new input of the same name resume from the old cursor (and skip
history); so removal deletes it:

1. before the input (best effort, so a run in progress has less time to write it again),
2. the input itself,
3. the checkpoint again, which must succeed (a missing document counts as success): if the KV
   store refuses, the admin is told that the input is gone but its checkpoint is not.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from ringcentral_audit.errors import SECRETS, protect
from ringcentral_audit.settings import utc_now, validate_input_settings
from solnlib import log
from solnlib.modular_input.checkpointer import KVStoreCheckpointer
from splunktaucclib.rest_handler.admin_external import AdminExternalHandler, get_splunkd_endpoint
from splunktaucclib.rest_handler.error import RestError
from ta_ringcentral_audit_rh_guard import GuardedHandler

APP_NAME = "TA-ringcentral-audit"
CHECKPOINT_COLLECTION = "ta_ringcentral_audit_checkpoints"
# The file name starts with the app id in lower case: UCC's monitoring dashboard reads
# index=_internal source=*ta-ringcentral-audit*.
LOGGER_NAME = "ta-ringcentral-audit_input_handler"


def get_logger() -> logging.Logger:
    """The handler's log file, with redaction; the root logger too (libraries' warnings)."""
    protect(logging.getLogger())
    return protect(log.Logs().get_logger(LOGGER_NAME))


def delete_checkpoint(session_key: str, input_name: str) -> None:
    """Delete the input's checkpoint document; a document that does not exist is no error."""
    splunkd = urlsplit(get_splunkd_endpoint())
    checkpointer = KVStoreCheckpointer(
        CHECKPOINT_COLLECTION,
        session_key,
        APP_NAME,
        scheme=splunkd.scheme,
        host=splunkd.hostname,
        port=splunkd.port,
    )
    checkpointer.delete(input_name)


def _describe(error: Exception) -> str:
    status = getattr(error, "status", None)
    return f"{type(error).__name__}" + (f" (HTTP {status})" if status else "")


class InputHandler(GuardedHandler):
    """Inputs endpoint: as UCC's handler, plus the checkpoint clean-up on removal; the
    capability check and the field checks of GuardedHandler come first."""

    LOGGER_NAME = LOGGER_NAME

    def check_payload(self, create: bool) -> None:
        """The input as it will be saved (the payload over the stored input) must pass the
        library's parse, the one every run applies: a value refused here could never run."""
        merged = {} if create else self.stored_input()
        merged.update(self.payload or {})
        validate_input_settings(str(self.callerArgs.id), merged, utc_now())

    def stored_input(self) -> dict:  # type: ignore[type-arg]
        entities = list(self.handler.get(self.callerArgs.id))
        return dict(entities[0].content) if entities else {}

    def handleRemove(self, confInfo: Any) -> None:
        logger = get_logger()
        name = str(self.callerArgs.id)
        session_key = self.getSessionKey()
        SECRETS.add(session_key)
        try:
            delete_checkpoint(session_key, name)
        except Exception as error:  # retried once the input is gone; a failure then is reported
            logger.warning(
                "Input %r: checkpoint not deleted yet: %s", name, _describe(error), exc_info=True
            )
        AdminExternalHandler.handleRemove(self, confInfo)
        logger.info("Input %r deleted", name)
        try:
            delete_checkpoint(session_key, name)
        except Exception as error:  # noqa: BLE001 (logged by solnlib, reported to the admin)
            log.log_exception(
                logger,
                error,
                "Checkpoint Error",
                msg_before=f"Input {name!r} deleted, but its checkpoint could not be:",
            )
            raise RestError(
                500,
                f"The input {name!r} was deleted, but its checkpoint could not be "
                f"({_describe(error)}): a new input named {name!r} would resume from it. Delete "
                f"the document with key {name!r} from the KV store collection "
                f"{CHECKPOINT_COLLECTION} of {APP_NAME}, or use another name.",
            ) from None
        logger.info("Input %r: checkpoint deleted", name)
