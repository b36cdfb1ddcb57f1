"""Transactional outbox and inbox over Kafka."""
