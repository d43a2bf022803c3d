"""Start the test identity provider: migrate its database, load its client and users, serve HTTP.

``python -m tests.oidc_provider.serve --port 8123``, with OIDC_PROVIDER_CONFIG, OIDC_PROVIDER_DB and
OIDC_PROVIDER_KEY in the environment (see settings.py; tests/fixtures_oidc.py sets them all).
Threaded: the RP's back-channel calls (token, userinfo, JWKS) arrive while a browser's are open.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("tests.oidc_provider")

# Query parameters that carry a credential or a token: masked in the request log.
_SECRET_PARAMETER = re.compile(
    r"(?<=[?&])(code|code_verifier|id_token_hint|access_token|refresh_token|token|client_secret|password)=[^&\s]*"
)


def redact(request_line: str) -> str:
    return _SECRET_PARAMETER.sub(r"\1=***", request_line)


def load_description(config: dict[str, Any]) -> None:
    """Create or update the users and the OAuth client the description names; a user's pk (its
    default ``sub``) stays the same across restarts on the same database."""
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model  # type: ignore[import-untyped]

    user_model = get_user_model()
    for spec in config["users"]:
        user, _ = user_model.objects.get_or_create(username=spec["username"])
        user.email = spec.get("email", "")
        user.first_name = spec.get("name", "")[:150]
        user.set_password(spec["password"])
        user.save()

    application_model = get_application_model()
    client = config["client"]
    application = application_model.objects.filter(client_id=client["client_id"]).first()
    if application is None:
        application = application_model(client_id=client["client_id"])
    application.name = "CloudVPN Portal (tests)"
    application.client_type = application_model.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = application_model.GRANT_AUTHORIZATION_CODE
    application.client_secret = client["client_secret"]  # hashed when saved
    application.redirect_uris = " ".join(client["redirect_uris"])
    application.post_logout_redirect_uris = " ".join(client["post_logout_redirect_uris"])
    application.skip_authorization = True
    application.algorithm = application_model.RS256_ALGORITHM
    application.full_clean()
    application.save()


def serve(port: int) -> None:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class RequestHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            if args and isinstance(args[0], str):
                args = (redact(args[0]), *args[1:])
            super().log_message(format, *args)

    server = ThreadedWSGIServer(("127.0.0.1", port), RequestHandler)
    server.set_app(get_wsgi_application())
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    # Never the portal's settings, which the test process's environment names.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    config = json.loads(Path(os.environ["OIDC_PROVIDER_CONFIG"]).read_text())
    load_description(config)
    log.info(
        "serving on http://127.0.0.1:%s, issuer %s, client %s, users %s, ID tokens for %s s",
        args.port,
        config.get("issuer") or f"http://127.0.0.1:{args.port}/o",
        config["client"]["client_id"],
        ", ".join(u["username"] for u in config["users"]),
        config["id_token_expire_seconds"],
    )
    serve(args.port)


if __name__ == "__main__":
    main()
