"""Sadeem: an on-prem lakehouse control plane."""

__version__ = "0.1.0"
