"""ucc-gen build hook: tidy the assembled add-on before it is packaged.

ucc-gen imports this module after it has assembled output/<addon>/ and calls
``cleanup_output_files(output_directory, ta_name)``. We remove what must not ship and refuse
what would not load on Splunk's own Python (compiled modules built for the build machine).
"""

from __future__ import annotations

import shutil
from pathlib import Path

COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
# Test configuration that lives in package/ for the test tools but is no add-on configuration:
# pytest-splunk-addon's sample generator settings (a custom conf without reload trigger, which
# AppInspect fails).
TEST_ONLY_FILES = ("default/pytest-splunk-addon-data.conf",)


# UCC 6.6 builds the Proxy and Logging tabs' endpoint with its plain handler (no way to name
# another in globalConfig.json): hand it to ours, which checks the capability and the values
# and keeps secrets and tracebacks out of its answers.
SETTINGS_HANDLER = "bin/ta_ringcentral_audit_rh_settings.py"
PLAIN_HANDLER = "        handler=AdminExternalHandler,\n"
OUR_HANDLER = "        handler=SettingsHandler,\n"
OUR_IMPORT = "from ta_ringcentral_audit_rh_settings_validation import SettingsHandler\n"


def use_settings_handler(addon: Path) -> None:
    path = addon / SETTINGS_HANDLER
    text = path.read_text()
    anchor = "import import_declare_test\n"
    if text.count(PLAIN_HANDLER) != 1 or anchor not in text:
        raise SystemExit(f"{SETTINGS_HANDLER}: ucc-gen wrote an unexpected handler call")
    text = text.replace(PLAIN_HANDLER, OUR_HANDLER).replace(anchor, anchor + OUR_IMPORT, 1)
    path.write_text(text)


def cleanup_output_files(output_path: str, ta_name: str) -> None:
    addon = Path(output_path) / ta_name
    use_settings_handler(addon)
    lib = addon / "lib"
    # pip --target writes console scripts (normalizer, websockets, idna) whose shebang names the
    # build machine's interpreter; the add-on never runs them.
    shutil.rmtree(lib / "bin", ignore_errors=True)
    for name in TEST_ONLY_FILES:
        (addon / name).unlink(missing_ok=True)
    for cache in sorted(addon.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for pattern in ("*.pyc", "*.pyo"):
        for stale in addon.rglob(pattern):
            stale.unlink()
    compiled = sorted(
        str(path.relative_to(addon))
        for path in addon.rglob("*")
        if path.is_file() and path.name.endswith(COMPILED_SUFFIXES)
    )
    if compiled:
        raise SystemExit(
            "Compiled modules in the add-on would not load on Splunk's Python and fail "
            "AppInspect; use pure-Python wheels (see mk/addon.mk): " + ", ".join(compiled)
        )
