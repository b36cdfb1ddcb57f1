"""Schools as data: several schools share one deployment (a province's), each its own scope.

Every account, row and event carries the `school_id` of the school it belongs to; a token's
`school_id` claim is the caller's school, and every service scopes every query by it. The
province's own people (Sở GD&ĐT, roles in `hbs_shared.roles.PROVINCE`) hold PROVINCE_SCOPE
instead: no school has that id, so every school's endpoint finds nothing of theirs.
"""

from __future__ import annotations

SCHOOL_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
"""A school's id: lower-case letters, digits and dashes (it appears in URLs and event keys)."""

PROVINCE_SCOPE = "so-gddt"
"""The `school_id` of the province's own accounts; refused as the id of a new school."""
