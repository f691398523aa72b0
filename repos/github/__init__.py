"""Everything that talks to GitHub: the REST client, credentials, the catalog sync, connecting
repositories and organizations, and their pages."""
