"""While the broker is away its client logs the same errors many times a second (about 80 lines
a second for one consumer and one producer, measured): each kind once, then once per interval
with how many were held back."""

from __future__ import annotations

import logging
import time

# aiokafka's loggers that repeat themselves during an outage (a filter on a logger sees only the
# records logged on that very logger, not on its children).
BROKER_CLIENT_LOGGERS = (
    "aiokafka",
    "aiokafka.conn",
    "aiokafka.cluster",
    "aiokafka.admin.client",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
)


class RepeatFilter(logging.Filter):
    """Lets a warning or error through once per `interval` seconds for each logger and message
    template; the next one that passes says how many were held back. Info lines all pass."""

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {self.interval:.0f} s]"
        return True


def quiet_repeats(logger_names: tuple[str, ...] = BROKER_CLIENT_LOGGERS, interval: float = 10.0) -> None:
    """Install one RepeatFilter on each of these loggers (once per process)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RepeatFilter) for existing in logger.filters):
            logger.addFilter(RepeatFilter(interval))
