"""Query results as every API shows them: one JSON encoding of cells and one way to describe
columns (`json_cells`). Neutral: imports no domain, so statements, runs and the catalog explorer
all use it."""
