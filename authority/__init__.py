"""The authority hub: authenticates parties over mutual TLS, verifies and stores signed
reports, keeps the transparency log, links reports into cases, raises alerts, releases
differentially private aggregates and scoped disclosures, and federates with peers.

Rule: nothing here imports ``node``; the two meet only on the wire.
"""
