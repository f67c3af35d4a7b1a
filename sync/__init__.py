"""The forwarding worker: delivers outbox rows to the central register, exactly once per version."""
