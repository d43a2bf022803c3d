"""The web's database connections: kept between requests on both databases (a connection opened per
request cost SQLite pages a fifth of their time), and PostgreSQL's planner told the disk is fast."""

import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_connection_outlives_the_request_that_opened_it():
    connection.ensure_connection()
    opened = connection.connection
    close_old_connections()  # what Django runs at every request's start and end
    connection.ensure_connection()
    assert connection.connection is opened


def test_postgresql_plans_for_a_fast_disk():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert float(cursor.fetchone()[0]) == 1.1
