"""Intake of confirmed reports."""
