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
// How SplunkSearch joins a base query and a chain's post-process query: "base | post-process".
import { mergeSearches } from '@splunk/datasource-utils';
import { DashboardValidator } from '@splunk/dashboard-validation';
import { createSchemaBasedOnPresets } from '@splunk/dashboard-definition';
import { migrateToTabsLayout } from '@splunk/dashboard-utils';

const harness = window.__harness;
// What each data source asked for and whether it was answered: read by the test.
harness.requests = [];

// The rows computed for a query, or the error that says why there are none: nothing is made up.
function answerFor(query) {
    const answer = Object.prototype.hasOwnProperty.call(harness.results, query)
        ? harness.results[query]
        : null;
    if (answer && answer.fields) {
        return { data: { fields: answer.fields.map((name) => ({ name })), columns: answer.columns } };
    }
    return {
        error: `test harness: no results computed for this query (${answer ? answer.reason : 'unknown query'})`,
    };
}

// ds.search answered from the computed results. Like SplunkSearch, its results' meta carries
// its query as `search`: that is what a chain extending it merges its own query onto.
class SampleResultsSearch extends TestDataSource {
    static config = {
        ...TestDataSource.config,
        isChainEnabled: false,
        extendableByDataSourceTypes: ['ds.chain', 'ds.search'],
    };

    constructor(options = {}, context = {}) {
        const query = options.query;
        const record = { query, answered: false };
        harness.requests.push(record);
        const answer = answerFor(query);
        record.answered = !answer.error;
        super({ ...answer, meta: { search: query } }, context);
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

// ds.chain as Splunk's framework runs it: DataSourceController makes the chain's controller
// subscribe to its parent's and hands every parent result to the chain's getObserver().next with
// the parent's meta; SplunkSearch then post-processes the parent's job with
// mergeSearches(meta.search, own query). Here that merged query picks the computed rows. Until
// the parent answered, a request stays pending (as a chain waits for its base job in Splunk).
class SampleResultsChain extends TestDataSource {
    static config = {
        ...TestDataSource.config,
        isChainEnabled: true,
        extendableByDataSourceTypes: ['ds.chain', 'ds.search'],
    };

    constructor(options = {}, context = {}) {
        super({}, context);
        this.ownQuery = options.query || '';
        this.extend = options.extend;
        this.parentQuery = null;
        this.harnessRecord = null;
        this.refresh = false;
    }

    getObserver() {
        return {
            next: ({ meta = {} }) => {
                const parentQuery = typeof meta.search === 'string' ? meta.search : null;
                if (parentQuery === null || parentQuery === this.parentQuery) {
                    this.refresh = false;
                    return;
                }
                this.parentQuery = parentQuery;
                const query = mergeSearches(parentQuery, this.ownQuery);
                const answer = answerFor(query);
                this.harnessRecord = { query, answered: !answer.error, extend: this.extend };
                harness.requests.push(this.harnessRecord);
                this.data = this.processData({ data: answer.data });
                this.error = answer.error;
                this.meta = { ...this.meta, search: query };
                this.progress = 100;
                this.refresh = true;
            },
            error: ({ message } = {}) => {
                this.error = `the base search failed: ${message}`;
                this.refresh = true;
            },
            complete: () => {},
        };
    }

    shouldRefreshSubscription() {
        return this.refresh;
    }

    request(requestParams) {
        if (this.parentQuery === null && !this.error) {
            return () => () => undefined; // waits for the parent, as a chain waits for its base job
        }
        const subscribe = super.request(requestParams);
        return (observer) => {
            if (this.harnessRecord) {
                this.harnessRecord.requested = (this.harnessRecord.requested || 0) + 1;
            }
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
        'ds.chain': SampleResultsChain,
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
