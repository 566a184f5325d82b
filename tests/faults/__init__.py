"""The fault suite: real authority and node processes on loopback, one fault each, and
the same invariants checked after every fault (``workload``'s module docstring).

* ``test_authority_sigkill``: the authority SIGKILLed mid-burst from three nodes;
* ``test_database_refuses_writes``: PostgreSQL switched read-only (needs the shared
  server on 127.0.0.1:5432, like every PostgreSQL test);
* ``test_database_full``: the SQLite database's filesystem full (a 4 MiB tmpfs and a
  ballast file; needs root to mount, skipped with the reason otherwise);
* ``test_postgres_restart``: a private PostgreSQL stopped and started under load (needs
  the server binaries; skipped with the reason otherwise).

Each test has a 180 s timeout. Only the two database-fault tests run the case linker, and
they make it meet the fault; elsewhere it is off (``workload.configure_case_linker``).
"""
