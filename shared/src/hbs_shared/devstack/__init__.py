"""Development only: the embedded stack (local broker, services as processes) for demo and tests."""
