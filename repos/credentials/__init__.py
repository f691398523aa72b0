"""Credentials the egress proxy adds to an attempt's requests (issue 14 item 4): the model,
the admin's writes, and what the worker hands to the proxy."""
