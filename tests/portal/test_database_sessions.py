"""The web's database connections: kept between requests on both databases (a connection opened per
request cost SQLite pages a fifth of their time), and PostgreSQL's planner told the disk is fast."""

import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_connection_outlives_the_request_that_opened_it():
    # From a connection of its own: one inherited from an earlier test on this worker may be one the
    # server has since ended, and replacing that is what close_old_connections should do.
    connection.close()
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


def test_postgresql_prepares_a_query_the_connection_keeps_running():
    """A page's queries are planned once per connection: the fifth run of one prepares it, and the
    server holds it (pg_prepared_statements), so later runs skip parsing and planning."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    for _ in range(6):
        list(users.filter(username="nobody-here"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"auth_user"."username" = $1' in sql for sql in prepared), prepared
