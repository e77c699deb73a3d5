"""pytest-splunk-addon's own test cases, run against a real Splunk that has the add-on installed
(field, eventtype, tag, CIM and requirement tests over package/samples). Not part of
`make test-knowledge`; run it from .venv-knowledge with the plugin on:

    .venv-knowledge/bin/python -m pytest -p no:cacheprovider tests/knowledge/live \\
        --splunk-type=external --splunk-app=package --splunk-data-generator=tests/knowledge \\
        --splunk-host=<host> --splunk-port=8089 --splunk-user=<user> --splunk-password=<password> \\
        --splunk-hec-token=<hec token>
"""

from pytest_splunk_addon.standard_lib.addon_basic import Basic


class Test_RingCentralAuditAddon(Basic):
    def empty_method(self):
        pass
