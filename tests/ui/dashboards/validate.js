// Splunk's own dashboard schema check (@splunk/dashboard-validation with the definition schema of
// @splunk/dashboard-definition), run by tests/ui/dashboards/test_dashboards.py through node.
// Usage: node validate.js view1.json [view2.json ...]; prints {file: errors-or-null} as JSON.
'use strict';
const fs = require('fs');
const { DashboardValidator } = require('@splunk/dashboard-validation');
const { defaultSchema } = require('@splunk/dashboard-definition');
const { migrateToTabsLayout } = require('@splunk/dashboard-utils');

const out = {};
for (const file of process.argv.slice(2)) {
    const definition = JSON.parse(fs.readFileSync(file, 'utf8'));
    // The schema describes the tabbed form; Splunk migrates single-layout definitions first.
    const migration = migrateToTabsLayout({ definition });
    if (!migration.success) {
        out[file] = [{ message: `cannot migrate to the tabs layout: ${migration.reason}` }];
        continue;
    }
    const validator = new DashboardValidator();
    const schemaError = validator.setSchema(defaultSchema);
    if (schemaError) {
        throw schemaError;
    }
    out[file] = validator.validate(migration.definition) || null;
}
process.stdout.write(JSON.stringify(out, null, 1));
