"""Development only, never installed in the production image: the embedded stack (local broker,
services as processes), the HTTP test driver, the bench databases and the demo school's people."""
