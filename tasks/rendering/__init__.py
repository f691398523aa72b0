"""Turning an attempt's untrusted text (model output, logs, patches) into safe HTML view models.

Everything here is pure: text in, escaped or sanitized HTML (or plain data) out. Nothing here
reads the database; views and selectors hand in what they loaded.
"""
