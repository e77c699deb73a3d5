// Renders one Dashboard Studio definition with Splunk's own dashboard framework, as Splunk Web's
// view-only page does: SplunkThemeProvider > DashboardContextProvider(EnterpriseViewOnlyPreset) >
// DashboardCore. The page (tests/ui/dashboards/dashboard_page.py) sets window.__harness =
// {definition, results} before this bundle loads; results maps each query text to the rows the
// knowledge suite computed from the sample events (tests/ui/dashboards/compute_results.py).
import React from 'react';
import { createRoot } from 'react-dom/client';
import SplunkThemeProvider from '@splunk/themes/SplunkThemeProvider';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import DashboardCore from '@splunk/dashboard-core';
import EnterpriseViewOnlyPreset from '@splunk/dashboard-presets/EnterpriseViewOnlyPreset';
import TestDataSource from '@splunk/datasources/TestDataSource';
import { DashboardValidator } from '@splunk/dashboard-validation';
import { createSchemaBasedOnPresets } from '@splunk/dashboard-definition';
import { migrateToTabsLayout } from '@splunk/dashboard-utils';

const harness = window.__harness;
// What each data source asked for and whether it was answered: read by the test.
harness.requests = [];

// ds.search answered from the computed results. A query without a result is answered with an
// error, which the panel shows and the test reports: nothing is made up here.
class SampleResultsSearch extends TestDataSource {
    constructor(options = {}, context = {}) {
        const query = options.query;
        const answer = Object.prototype.hasOwnProperty.call(harness.results, query)
            ? harness.results[query]
            : null;
        const record = { query, answered: Boolean(answer && answer.fields) };
        harness.requests.push(record);
        super(
            record.answered
                ? { data: { fields: answer.fields.map((name) => ({ name })), columns: answer.columns } }
                : { error: `test harness: no results computed for this query (${answer ? answer.reason : 'unknown query'})` },
            context
        );
        this.harnessRecord = record;
    }

    request(requestParams) {
        const subscribe = super.request(requestParams);
        return (observer) => {
            this.harnessRecord.requested = (this.harnessRecord.requested || 0) + 1;
            return subscribe(observer);
        };
    }
}

// Any other data source type would call splunkd for real: refuse it visibly.
class UnsupportedDataSource extends TestDataSource {
    constructor(options = {}, context = {}) {
        harness.requests.push({ query: options.query || JSON.stringify(options), answered: false });
        super({ error: 'test harness: this data source type is not emulated' }, context);
    }
}

const preset = {
    ...EnterpriseViewOnlyPreset,
    dataSources: {
        ...EnterpriseViewOnlyPreset.dataSources,
        'ds.search': SampleResultsSearch,
        'ds.chain': UnsupportedDataSource,
        'ds.savedSearch': UnsupportedDataSource,
    },
};

// Splunk's dashboard schema extended with the option schema of every visualization, data source,
// input and layout of the preset (needs a DOM, hence here rather than in validate.js): wrong
// option types are caught. Returns the list of errors, or null.
harness.validate = () => {
    const migration = migrateToTabsLayout({ definition: harness.definition });
    if (!migration.success) {
        return [{ message: `cannot migrate to the tabs layout: ${migration.reason}` }];
    }
    const validator = new DashboardValidator();
    const schemaError = validator.setSchema(createSchemaBasedOnPresets(EnterpriseViewOnlyPreset));
    if (schemaError) {
        return [{ message: `schema: ${schemaError}` }];
    }
    return validator.validate(migration.definition) || null;
};

createRoot(document.getElementById('root')).render(
    <SplunkThemeProvider family="enterprise" colorScheme="light" density="comfortable">
        <DashboardContextProvider preset={preset} initialDefinition={harness.definition}>
            <DashboardCore width="100%" height="100%" />
        </DashboardContextProvider>
    </SplunkThemeProvider>
);
