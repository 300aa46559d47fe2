"""One module per rule, grouped by family; ``auditor.registry`` discovers them.

Code ranges: PG1xx causality (C1), PG2xx normalization (C2), PG3xx score-first / single pass /
SLOT (C3, C4, SLOT), PG4xx data access, PG5xx metric (bytes, bpb), PG6xx budget, PG7xx package
and process (record folders), PG9xx meta (the tool's own limits: opaque or dynamic code).
"""
