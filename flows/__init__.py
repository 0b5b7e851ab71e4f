"""Prefect flows: when things happen. Thin; the work is in the packages they call."""
