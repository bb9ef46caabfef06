"""Ingest: uploaded CSV and Parquet files into Iceberg tables, one snapshot per file."""
