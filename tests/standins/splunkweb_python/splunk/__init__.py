"""Stand-in for Splunk's private ``splunk`` package (see ../README.md)."""
