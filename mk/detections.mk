# The security detections: their contentctl-style descriptions and what they cost to run.
.PHONY: detections scan-cost

# docs/detections/*.yml from package/default/savedsearches.conf (the knowledge tests fail when the
# committed files differ from what the conf gives).
detections: knowledge-venv
	$(KNOWLEDGE_PY) -m tests.knowledge.detection_yaml

# Events the indexers hand to each detection per run, for a year of 10 accounts' audit records,
# with the searches before issue 18 and as shipped (tests/knowledge/scan_cost.py).
scan-cost: knowledge-venv
	$(KNOWLEDGE_PY) -m tests.knowledge.scan_cost
