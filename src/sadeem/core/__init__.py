"""The bottom layer: errors, pagination, secret redaction and the clock, shared by every other
package and importing nothing from Sadeem itself (the import-linter contract in pyproject holds it
to that)."""
