"""Tweet search: one analyzer for indexing and queries, a query parser, two back-ends."""
