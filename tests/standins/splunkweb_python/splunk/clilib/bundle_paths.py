"""Stand-in for ``splunk.clilib.bundle_paths``: paths under $SPLUNK_HOME."""

import os


def make_splunkhome_path(parts):
    home = os.path.normpath(os.environ["SPLUNK_HOME"])
    path = os.path.normpath(os.path.join(home, *parts))
    if os.path.commonpath([home, path]) != home:
        raise ValueError(f"Illegal escape from parent directory {home!r}: {path!r}")
    return path
