"""`python -m hbs_shared.healthcheck`: the container's HEALTHCHECK (no curl in the image).

Asks this container's service (SERVICE: identity, grades, signing or portal) for `/healthz` on
its port (HBS_<SERVICE>_PORT, else the service's default) and exits 0 when it answers 200."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORTS = {"portal": 8000, "identity": 8001, "grades": 8002, "signing": 8003}


def health_url(environ: dict[str, str]) -> str:
    service = environ.get("SERVICE", "")
    if service not in DEFAULT_PORTS:
        raise SystemExit(f"SERVICE must be one of {', '.join(sorted(DEFAULT_PORTS))}, not {service!r}")
    port = int(environ.get(f"HBS_{service.upper()}_PORT") or DEFAULT_PORTS[service])
    return f"http://127.0.0.1:{port}/healthz"


def main() -> int:
    url = health_url(dict(os.environ))
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 (a fixed http URL)
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
