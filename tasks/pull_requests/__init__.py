"""Pull requests opened from attempts: the record, the services that open them, their text."""
