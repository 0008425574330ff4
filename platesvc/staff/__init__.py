"""The staff side's domain: accounts and tokens, background jobs, residents' reports and plate records."""
