def test_standby_streams(sandbox, standby, sql):
    rows = sql(standby.url(), "SELECT pg_is_in_recovery(), current_setting('max_prepared_transactions')")
    assert rows == [(True, "10")]
