"""Identity's own typed client: the shared authorisation client every service uses
(`hbs_shared.authz.AuthzClient`), plus the student search.

    async with IdentityClient(settings.identity_url) as identity:
        page = await identity.search_students(token, StudentSearch(q="nguyen van an"))

Calls carry the user's own access token, so identity answers for that user.
"""

from __future__ import annotations

from hbs_identity.people.schemas import StudentPage, StudentSearch
from hbs_shared.authz import AuthzClient

__all__ = ["IdentityClient", "StudentPage", "StudentSearch"]


class IdentityClient(AuthzClient):
    async def search_students(self, token: str, search: StudentSearch) -> StudentPage:
        """The students this user may read; the search words go in the body, never the URL."""
        answer = await self._send(
            "POST", "/students/search", token, json=search.model_dump(mode="json", exclude_none=True)
        )
        return StudentPage.model_validate(answer)
