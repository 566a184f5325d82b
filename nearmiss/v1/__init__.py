"""Generated protobuf and gRPC stubs (scripts/gen-proto). Do not edit; convert to
nearmiss.model types at the servicer boundary."""
