# The built add-on's modular input, run as splunkd runs it (no Splunk needed: stand-ins for
# splunkd and RingCentral under tests/standins/).
#   make test-e2e   build, then tests/package/test_modular_input.py: --scheme,
#                   --validate-arguments, runs with the XML input definition on stdin, kill and
#                   SIGTERM mid-run, a misconfigured account, secret scans of every output
#   make demo       build, then collect a generated 2,500-record history through the built
#                   input and print what was collected, one indexed event and the collection
#                   events; keeps its $SPLUNK_HOME in output/demo (last line: events_written,
#                   collection_events, checkpoint, secrets_leaked, kept)

EXTRA_TESTS += test-e2e

.PHONY: test-e2e demo

test-e2e: build venv
	@echo "test-e2e: the built modular input run as splunkd runs it, against the splunkd and RingCentral stand-ins"
	$(PY) -m pytest tests/package/test_modular_input.py tests/package/test_modinput_splunk_pythons.py
	@$(PY) tests/package/splunk_pythons.py
	@echo "test-e2e: passed"

demo: build venv
	@echo "demo: the built add-on's input collecting from stand-ins for splunkd and RingCentral"
	$(PY) tests/demo.py
