"""Stand-in for ``splunk.admin``: runs an ``admin_external`` handler as splunkd does.

splunkd keeps one process per persistent handler and passes it each request: the action (list,
create, edit, remove), the entity name, the form arguments (each a list of values), the caller's
session key, user and app. The handler class declares its arguments in ``setup`` (splunkd refuses
a request missing a required argument or carrying an unsupported one, before the handler runs),
then ``handle<Action>`` fills a ConfigInfo. Here each request is one JSON line on stdin and each
answer one JSON line on the original stdout: the entities, or the exception as splunkd reports it.
"""

import json
import os
import sys
import traceback

ACTION_CREATE = 1
ACTION_LIST = 2
ACTION_EDIT = 4
ACTION_REMOVE = 8
ACTION_MEMBERS = 16
ACTION_RELOAD = 32
CONTEXT_NONE = 0
CONTEXT_APP_ONLY = 1
CONTEXT_APP_AND_USER = 2

_ACTIONS = {
    "create": ACTION_CREATE,
    "list": ACTION_LIST,
    "edit": ACTION_EDIT,
    "remove": ACTION_REMOVE,
}
# Arguments splunkd accepts on any edit of an entity, whatever the handler declares.
_IMPLICIT_ARGS = ("disabled",)


class AdminManagerException(Exception):
    pass


class ArgValidationException(AdminManagerException):
    pass


class NotFoundException(AdminManagerException):
    pass


class AlreadyExistsException(AdminManagerException):
    pass


class BadActionException(AdminManagerException):
    pass


class InternalException(AdminManagerException):
    pass


class CallerArgs:
    def __init__(self, entity_id, data):
        self.id = entity_id
        self.data = data


class SupportedArgs:
    def __init__(self):
        self.required = []
        self.optional = []

    def addReqArg(self, name):
        self.required.append(name)

    def addOptArg(self, name):
        self.optional.append(name)


class ConfigItem(dict):
    def __init__(self):
        super().__init__()
        self.metadata = {}

    def setMetadata(self, key, value):
        self.metadata[key] = value


class ConfigInfo(dict):
    def __missing__(self, key):
        self[key] = ConfigItem()
        return self[key]


class MConfigHandler:
    """What splunkd hands a handler: the request, set before the subclass's __init__ runs."""

    _request = {}  # noqa: RUF012 - one request at a time, shared by design

    def __init__(self, *args, **kwargs):
        request = MConfigHandler._request
        self.requestedAction = _ACTIONS[request["action"]]
        self.callerArgs = CallerArgs(request.get("id") or None, request.get("data") or {})
        self.supportedArgs = SupportedArgs()
        self.appName = request.get("app")
        self.userName = request.get("user", "admin")
        self.context = CONTEXT_APP_ONLY
        self.customAction = ""
        self._session_key = request["session_key"]

    def getSessionKey(self):
        return self._session_key

    def setup(self):
        pass


def _check_args(handler, action):
    if action not in (ACTION_CREATE, ACTION_EDIT):
        return None
    given = set(handler.callerArgs.data)
    declared = set(handler.supportedArgs.required) | set(handler.supportedArgs.optional)
    unsupported = sorted(given - declared - set(_IMPLICIT_ARGS))
    if unsupported:
        return f'Argument "{unsupported[0]}" is not supported by this handler.'
    missing = [name for name in handler.supportedArgs.required if name not in given]
    if missing:
        return "The following required arguments are missing: " + ", ".join(missing) + "."
    return None


def _serve_one(handler_class, request):
    import splunk

    MConfigHandler._request = request
    splunk._session_key = request["session_key"]
    action = _ACTIONS[request["action"]]
    try:
        handler = handler_class()
        handler.setup()
        problem = _check_args(handler, action)
        if problem:
            return {"status": 400, "error": problem}
        info = ConfigInfo()
        method = {
            ACTION_CREATE: "handleCreate",
            ACTION_LIST: "handleList",
            ACTION_EDIT: "handleEdit",
            ACTION_REMOVE: "handleRemove",
        }[action]
        getattr(handler, method)(info)
    except Exception as error:  # noqa: BLE001 - splunkd reports whatever a handler raised
        traceback.print_exc(file=sys.stderr)
        text = (
            f'Unexpected error "{type(error)}" from python handler: "{error}". '
            "See splunkd.log/python.log for more details."
        )
        return {"status": 500, "error": text}
    entries = [
        {"name": name, "content": dict(item), "metadata": dict(item.metadata)}
        for name, item in info.items()
    ]
    return {"status": 201 if action == ACTION_CREATE else 200, "entries": entries}


def init(handler_class, ctxInfo=CONTEXT_APP_ONLY):
    """Serve requests until stdin closes (splunkd's persistent handler mode)."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # a print() in a handler must not break the protocol
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = _serve_one(handler_class, json.loads(line))
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
