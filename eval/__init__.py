"""Regression evaluation: datasets, metrics, judges, the harness behind `citewise eval`, reports."""
