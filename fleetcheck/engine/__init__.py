"""The engine: planned hosts in, host results out, on threads, worker processes or elsewhere.

`scan.scan` is the library entry point; `base.Engine` is the contract every engine keeps;
`check.check_host` is one host's life; `summary` settles statuses and the exit code once.
Nothing is imported here, so that importing a part costs only that part.
"""
