"""Readers and writers; all conversions between a file format and the core live here."""
