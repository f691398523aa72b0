"""This installation's identity: the Installation row (`models.py`) and the id and repository
names handed to the sandbox (`services.py`)."""
