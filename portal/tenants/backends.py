"""Django's ModelBackend, with the signed-in user of each request read by a query compiled once per
process (portal.core.compiled) instead of built and compiled by the ORM on every request."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection

from portal.core.compiled import Compiled, bind, compile_query, concrete_attnames, fetch, instance

# A stand-in for the user's id in the compiled query: no user has it.
_USER_SLOT = -914_301


@lru_cache(maxsize=4)
def _user_sql(vendor: str) -> Compiled:
    users = get_user_model()._default_manager
    return compile_query(users.filter(pk=_USER_SLOT).values(*concrete_attnames(get_user_model())))


class ModelBackendCompiled(ModelBackend):
    """Signs in as ModelBackend does; only get_user (every request of a signed-in user) differs."""

    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        compiled = _user_sql(connection.vendor)
        rows = fetch(compiled, bind(compiled, {_USER_SLOT: pk}))
        if not rows:
            return None
        user = instance(model, rows[0])
        return user if self.user_can_authenticate(user) else None
