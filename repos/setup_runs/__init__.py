"""The "run setup now" runs: the SetupRun record, its services (request, claim, finish), the
job's flow."""
