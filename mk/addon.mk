# The Splunk add-on itself: build with UCC (ucc-gen), package, check with AppInspect.
#   make build       output/TA-ringcentral-audit/ from globalConfig.json + package/
#   make package     dist/TA-ringcentral-audit-<version>.tar.gz
#   make test-build  tests/package/ against the built add-on and its tarball
#   make appinspect  Splunk AppInspect (precert, cloud tags); fails on any failure, error or
#                    future failure, lists the warnings
# The version has one home: globalConfig.json meta.version (the build writes it everywhere else).

ADDON := TA-ringcentral-audit
ADDON_VERSION := $(shell $(PYTHON) -c 'import json; print(json.load(open("globalConfig.json"))["meta"]["version"])')
ADDON_OUT := output/$(ADDON)
ADDON_PKG := dist/$(ADDON)-$(ADDON_VERSION).tar.gz
BUILD_VENV := .venv-build
APPINSPECT_VENV := .venv-appinspect
# Pure wheels of the run-time libraries that PyPI ships only as source (splunk-sdk, observable).
ADDON_WHEELS := $(BUILD_VENV)/wheels
# lib/ gets exactly the pinned closure of package/lib/requirements.txt (--no-deps), as pure
# Python wheels resolved for Splunk's oldest Python (3.9): no compiled module, loads on 3.13 too.
LIB_PIP_FLAGS := --no-compile --no-deps --only-binary=:all: --platform any --implementation py \
	--abi none --python-version 3.9 --find-links $(abspath $(ADDON_WHEELS))
APPINSPECT_REPORT := output/appinspect.json

EXTRA_TESTS += test-build appinspect

.PHONY: build package test-build appinspect lock-build lock-appinspect libmagic

$(BUILD_VENV)/.installed: requirements/build.txt
	$(call venv_from,$(BUILD_VENV))

$(ADDON_WHEELS)/.built: package/lib/requirements.txt $(BUILD_VENV)/.installed
	@echo "Building pure-Python wheels of splunk-sdk and observable for the add-on's lib/"
	rm -rf $(ADDON_WHEELS)
	$(BUILD_VENV)/bin/pip wheel -q --disable-pip-version-check --no-deps \
		--no-binary splunk-sdk,observable -w $(ADDON_WHEELS) \
		$$(grep -iE '^(splunk-sdk|observable)==' package/lib/requirements.txt)
	touch $@

# ucc-gen rewrites globalConfig.json (schema migration, meta.version): the committed file must
# already be in the form it writes back, or the build leaves the tree dirty. build/ keeps the
# file as it was before the build for tests/package/test_build.py.
build: $(BUILD_VENV)/.installed $(ADDON_WHEELS)/.built
	@echo "build: ucc-gen builds $(ADDON_OUT)/ $(ADDON_VERSION) from globalConfig.json and package/ (its INFO lines follow)"
	rm -rf $(ADDON_OUT)
	mkdir -p build && cp globalConfig.json build/globalConfig.before-build.json
	$(BUILD_VENV)/bin/ucc-gen build --source package --ta-version $(ADDON_VERSION) \
		--pip-version $(PIP_VERSION) --python-binary-name $(abspath $(BUILD_VENV)/bin/python) \
		--pip-custom-flag "$(LIB_PIP_FLAGS)"
	find $(ADDON_OUT) -name __pycache__ -type d -prune -exec rm -rf {} +
	find $(ADDON_OUT) -name '*.py[co]' -delete
	chmod -R go-w $(ADDON_OUT)
	@cmp -s build/globalConfig.before-build.json globalConfig.json || { \
		diff -u build/globalConfig.before-build.json globalConfig.json | head -40; \
		echo "ucc-gen rewrote globalConfig.json: commit the rewritten file (see diff above)." >&2; \
		exit 1; }
	@echo "Built $(ADDON_OUT)/ (version $(ADDON_VERSION))"

package: build
	mkdir -p dist
	rm -f $(ADDON_PKG)
	$(BUILD_VENV)/bin/ucc-gen package --path $(ADDON_OUT) -o dist
	@test -f $(ADDON_PKG) || { echo "ucc-gen package did not write $(ADDON_PKG)" >&2; exit 1; }
	@echo "Packaged $(ADDON_PKG)"

test-build: package venv
	@echo "test-build: the built add-on and its tarball (tests/package: build, UCC config, REST handlers, helper)"
	$(PY) -m pytest tests/package --ignore=tests/package/test_modular_input.py \
		--ignore=tests/package/test_modinput_splunk_pythons.py

$(APPINSPECT_VENV)/.installed: requirements/appinspect.txt
	$(call venv_from,$(APPINSPECT_VENV))

# AppInspect identifies files with the system libmagic (through python-magic).
libmagic: $(APPINSPECT_VENV)/.installed
	@if ! $(APPINSPECT_VENV)/bin/python -c 'import magic' 2>/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing libmagic1 (needed by splunk-appinspect)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1 >/dev/null; \
		else \
			echo "splunk-appinspect needs the system libmagic: install libmagic1 (apt-get install libmagic1)" >&2; \
			exit 1; \
		fi; \
	fi

appinspect: package libmagic
	@echo "appinspect: Splunk AppInspect on $(ADDON_PKG) (precert, cloud tags; takes a minute)"
	rm -f $(APPINSPECT_REPORT)
	$(APPINSPECT_VENV)/bin/splunk-appinspect inspect $(ADDON_PKG) --mode precert \
		--included-tags cloud --skip-trusted-libraries-update \
		--output-file $(APPINSPECT_REPORT) --data-format json >output/appinspect.log 2>&1 \
		|| { tail -20 output/appinspect.log; test -s $(APPINSPECT_REPORT); }
	$(APPINSPECT_VENV)/bin/python tests/package/appinspect_summary.py $(APPINSPECT_REPORT)
	@echo "appinspect: passed for $(ADDON_PKG) (no failure, error or future failure; report $(APPINSPECT_REPORT))"

lock-build: $(BUILD_VENV)/.installed
	$(BUILD_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/build.in
	{ echo "# Generated by 'make lock-build' from requirements/build.in: every package of .venv-build, pinned."; \
	  $(BUILD_VENV)/bin/pip freeze; } > requirements/build.txt
	@echo "lock-build: requirements/build.txt holds $$(grep -c '==' requirements/build.txt) pins"

lock-appinspect: $(APPINSPECT_VENV)/.installed
	$(APPINSPECT_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/appinspect.in
	{ echo "# Generated by 'make lock-appinspect' from requirements/appinspect.in: every package of .venv-appinspect, pinned."; \
	  $(APPINSPECT_VENV)/bin/pip freeze; } > requirements/appinspect.txt
	@echo "lock-appinspect: requirements/appinspect.txt holds $$(grep -c '==' requirements/appinspect.txt) pins"
