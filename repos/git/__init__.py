"""Git on the host: bare mirrors, their garbage collection, where plain git repositories may be
fetched from, branch names, the composer's branch list, and pristine checkouts for a sandbox."""
