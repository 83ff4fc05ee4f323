"""Development tools: never imported by the running service.

`smtp_sink` is the local mail server that `make run` starts (and that the
tests and benchmarks drive); it lives beside the `smtp_sink` command rather
than in the settings package.
"""
