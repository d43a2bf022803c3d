"""No token or bearer in any log record, exception message or repr: scanned over a full scenario."""

import logging
import pickle
import traceback

import pytest

from ies_client.client import IESClient, client_for
from ies_client.errors import IESError
from ies_client.models import IESCredentials
from ies_client.redact import RedactSecretsFilter, mask, redact, register_secret

from .conftest import SITE2DC_DEF, SITE2DC_TEMPLATE, credentials_of, site2dc_parameters, wait_done

SITE2DC = (SITE2DC_DEF, SITE2DC_TEMPLATE, "Site2DCList")


def _texts_of(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), str(record.msg)]
    args = record.args
    if isinstance(args, dict):
        texts += [repr(k) for k in args] + [repr(v) for v in args.values()]
    elif args:
        texts += [repr(a) for a in args] + [str(a) for a in args]
    if record.exc_info:
        texts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.exc_text:
        texts.append(record.exc_text)
    return texts


def test_no_secret_reaches_a_log_record_or_an_exception(sim, make_client, fresh_tenant, simulator, caplog):
    secrets = [fresh_tenant["token"], fresh_tenant["bearer"]]
    for name in ("nbitest_11", "nbitest_14"):
        secrets += [simulator.tenants[name]["token"], simulator.tenants[name]["bearer"]]
    errors: list[IESError] = []
    log = logging.getLogger("ies_client.tests")

    with caplog.at_level(logging.DEBUG):  # the root logger: urllib3's and requests' records too
        client = make_client(fresh_tenant)
        for c in (client, make_client("nbitest_11"), client_for(simulator.base_url,
                                                                credentials_of(simulator.tenants["nbitest_14"]))):
            log.debug("using %r with %s", c, c.credentials)
            c.list_service_definitions()
            c.list_services()
        ref = client.create_service(name="secret_ct", definition=SITE2DC, parameters=site2dc_parameters())
        wait_done(client, ref, "Create")
        s = client.get_service(ref.service_id)
        client.get_traffic(s.cloud_vpn_name, start=1493367320, end=1493367320 + 3600)
        ref = client.modify_service(s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name,
                                    bandwidth_kbps=70000)
        wait_done(client, ref, "Update")
        client.list_operations(s.service_id)

        def failing(call):
            try:
                call()
            except IESError as exc:
                errors.append(exc)
                log.exception("IES call failed: %s", exc)
            else:
                raise AssertionError("expected an IESError")

        failing(lambda: client.get_service("AAAAAAAAAAAAAAAAAAAAAA"))
        failing(lambda: client.create_service(name="bad_ct", definition=SITE2DC,
                                              parameters=site2dc_parameters(Bandwidth="12")))
        failing(lambda: client.modify_service(s.service_id, list_key="Site2DCList", cloud_vpn_name="NOPE",
                                              bandwidth_kbps=1000))
        sim.add_fault(kind="expire_token", tenant=fresh_tenant["name"])
        sim.add_fault(kind="error", status=503, count=1, prefix="/rest/catalog")
        failing(lambda: make_client(fresh_tenant, retries=0).list_service_definitions())
        sim.clear_faults()
        bad = IESCredentials(fresh_tenant["token"] + "x", fresh_tenant["bearer"])
        failing(lambda: IESClient(simulator.base_url, bad).list_services())
        sim.add_fault(kind="drop", count=2, prefix="/rest/servicemanager")
        failing(lambda: make_client(fresh_tenant, retries=1).list_services())
        sim.add_fault(kind="hang", seconds=1.0, count=1, methods=["PUT"], prefix="/rest/servicemanager")
        failing(lambda: make_client(fresh_tenant, read_timeout=0.3).modify_service(
            s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name, bandwidth_kbps=80000))
        busy = client.create_service(name="busy_ct", definition=SITE2DC, parameters=site2dc_parameters())
        failing(lambda: client.deactivate_service(busy.service_id))  # 500 status_inprogress: a conflict

    assert len(errors) == 8
    ies_records = [r for r in caplog.records if r.name == "ies_client"]
    assert len(ies_records) > 20  # the calls were logged, at DEBUG
    assert any(" -> 200 in " in r.getMessage() for r in ies_records)
    assert not any("?" in r.getMessage() for r in ies_records)  # paths without their query
    for record in caplog.records:
        for text in _texts_of(record):
            for secret in secrets:
                assert secret not in text, f"a secret in a record of {record.name}: {record.msg!r}"
    for exc in errors:
        dumped = pickle.dumps(exc)
        for text in (str(exc), repr(exc), exc.message, str(exc.advice), "".join(traceback.format_exception(exc))):
            for secret in secrets:
                assert secret not in text
        for secret in secrets:
            assert secret.encode() not in dumped


def test_reprs_mask_the_secrets(simulator):
    creds = credentials_of(simulator.tenants["nbitest_11"])
    client = IESClient(simulator.base_url, creds)
    for text in (repr(creds), str(creds), repr(client), repr(client._transport._auth), repr(client.with_options())):
        assert creds.token not in text and creds.bearer not in text
    assert repr(creds).count(creds.token[-4:]) == 1 and mask(creds.bearer) == "****" + creds.bearer[-4:]
    client.close()


def test_the_filter_masks_registered_secrets_in_messages_args_and_tracebacks():
    secret = "MIIE-filter-test-secret-0123456789"
    register_secret(secret)
    register_secret("short")  # too short to be a secret: ignored, or ordinary words would be mangled
    logger = logging.getLogger("ies_client.tests.filter")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(RedactSecretsFilter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token=%s and more", secret)
        logger.warning({"dict": secret})
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logger.exception("boom")
        logger.warning("a short word stays")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert records[0].getMessage() == f"token={mask(secret)} and more"
    assert secret not in records[1].getMessage()
    assert secret not in records[2].exc_text and mask(secret) in records[2].exc_text
    assert records[3].getMessage() == "a short word stays"
    assert redact(f"x{secret}y") == f"x{mask(secret)}y"


def test_an_error_message_never_carries_a_registered_secret():
    secret = "MIIE-in-an-error-message-987654321"
    register_secret(secret)
    exc = IESError(f"IES echoed {secret}", advice=f"do not send {secret}")
    assert secret not in str(exc) and secret not in repr(exc) and secret not in exc.advice


def test_it_refuses_credentials_without_a_token_or_bearer(simulator):
    with pytest.raises(ValueError):
        IESClient(simulator.base_url, IESCredentials("", "b" * 36))
