"""Stand-in for Splunk's private ``splunk`` package (see ../README.md)."""

_session_key = None


def getSessionKey():
    """The session key of the request being handled (set by splunk.admin for each request)."""
    return _session_key
