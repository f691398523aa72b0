"""A repository's environment: the services that read and change it (snapshot, secrets, cache
reset), its forms and its page. The models are in repos/models.py."""
